package buckets

import (
	"encoding/json"

	"github.com/alecthomas/jsonschema"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/db"
)

// CollectionName is the collection that holds a database's buckets, as on the Hub.
const CollectionName = "buckets"

// IndexPath is the indexed field of the collection, as on the Hub.
const IndexPath = "path"

// CollectionConfig is the Hub's configuration of the buckets collection: the schema of
// Bucket reflected as the Hub reflects it, an index on path, and the Hub's write
// validator and read filter, verbatim (textile threaddb/buckets.go). The validator lets
// only the owner create, delete, or change owner, name, version, key, archives and
// created_at; others need Writer (Admin for roles) on the metadata of what they change.
// The filter hides, from a reader without a role, the metadata of paths they may not
// read and the link key.
func CollectionConfig() db.CollectionConfig {
	return db.CollectionConfig{
		Name:           CollectionName,
		Schema:         (&jsonschema.Reflector{ExpandedStruct: true}).Reflect(&Bucket{}),
		Indexes:        []db.Index{{Path: IndexPath}},
		WriteValidator: writeValidator,
		ReadFilter:     readFilter,
	}
}

// CollectionConfigPB is CollectionConfig as the threads API takes it (NewCollection,
// UpdateCollection, NewDB's collections), for the in-process threads service.
func CollectionConfigPB() *pb.CollectionConfig {
	c := CollectionConfig()
	raw, err := json.Marshal(c.Schema)
	if err != nil {
		panic(err) // a reflected schema always marshals
	}
	return &pb.CollectionConfig{
		Name:           c.Name,
		Schema:         raw,
		Indexes:        []*pb.Index{{Path: IndexPath}},
		WriteValidator: c.WriteValidator,
		ReadFilter:     c.ReadFilter,
	}
}

// writeValidator is the Hub's, verbatim.
const writeValidator = `
			if (instance && !instance.version) {
			  return true
			}
			var type = event.patch.type
			var patch = event.patch.json_patch
			var restricted = ["owner", "name", "version", "key", "archives", "created_at"]
			switch (type) {
			  case "create":
			    if (patch.owner !== "" && writer !== patch.owner) {
			      return "permission denied" // writer must match new bucket owner
			    }
			    break
			  case "save":
			    if (instance.owner === "") {
			      return true
			    }
			    if (writer !== instance.owner) {
			      for (i = 0; i < restricted.length; i++) {
			        if (patch[restricted[i]]) {
			          return "permission denied"
			        }
			      }
			    }
			    if (!patch.metadata) {
			      if (patch.path && writer !== instance.owner) {
			        return "permission denied"
			      } else {
			        patch.metadata = {}
			      }
			    }
			    var keys = Object.keys(patch.metadata)
			    for (i = 0; i < keys.length; i++) {
			      var p = patch.metadata[keys[i]]
			      var x = instance.metadata[keys[i]]
			      if (x) {
			        if (!x.roles[writer]) {
			          x.roles[writer] = 0
			        }
			        if (!x.roles["*"]) {
			          x.roles["*"] = 0
			        }
			        // merge all parents, taking most privileged role
			        if (keys[i].length > 0) {
			          var parts = keys[i].split("/")
			          parts.unshift("")
			          var path = ""
			          for (j = 0; j < parts.length; j++) {
			            if (path.length > 0) {
			              path += "/"
			            }
			            path += parts[j]
			            var y = instance.metadata[path]
			            if (!y) {
			              continue
			            }
			            if (!y.roles[writer]) {
			              y.roles[writer] = 0
			            }
			            if (!y.roles["*"]) {
			              y.roles["*"] = 0
			            }
			            if (y.roles[writer] > x.roles[writer]) {
			              x.roles[writer] = y.roles[writer]
			            }
			            if (y.roles["*"] > x.roles["*"]) {
			              x.roles["*"] = y.roles["*"]
			            }
			          }
			        }
			        // check access against merged roles
			        if (!p) {
			          if (x.roles[writer] < 3) {
			            return "permission denied" // no admin access to delete items
			          }
			        } else {
			          if (p.roles && x.roles[writer] < 3) {
			            return "permission denied" // no admin access to edit roles
			          }
			        }
			        if (x.roles[writer] < 2 && x.roles["*"] < 2) {
			          return "permission denied" // no write access
			        }
			      } else {
			        if (writer !== instance.owner) {
			          return "permission denied" // no owner access to create items
			        }
			      }
			    }
			    break
			  case "delete":
			    if (instance.owner !== "" && writer !== instance.owner) {
			      return "permission denied" // no owner access to delete instance
			    }
			    break
			}
			return true
		`

// readFilter is the Hub's, verbatim.
const readFilter = `
			if (!instance.version) {
			  return instance
			}
			if (instance.owner === "") {
			  return instance
			}
			var filtered = {}
			var keys = Object.keys(instance.metadata)
			outer: for (i = 0; i < keys.length; i++) {
			  var m = instance.metadata[keys[i]]
			  var parts = keys[i].split("/")
			  if (keys[i].length > 0) {
			    parts.unshift("")
			  }
			  var path = ""
			  for (j = 0; j < parts.length; j++) {
			    if (path.length > 0) {
			      path += "/"
			    }
			    path += parts[j]
			    var x = instance.metadata[path]
			    if (x && (x.roles[reader] > 0 || x.roles["*"] > 0)) {
			      filtered[keys[i]] = m
			      continue outer
			    }
			  }
			}
			instance.metadata = filtered
			if (Object.keys(instance.metadata).length === 0) {
			  delete instance.key
			}
			return instance
		`
