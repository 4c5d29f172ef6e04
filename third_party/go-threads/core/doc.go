// Package core defines the core types, constants, data structures and interfaces for go-threads.
package core
