package hubauth

// Quotas bound what one identity holding a user key can make the server keep. Account
// keys (operators) are not limited. A zero field takes its default; a negative one means
// no limit.
type Quotas struct {
	// DBsPerIdentity bounds the threads (databases and net API threads) one identity owns.
	DBsPerIdentity int
	// CollectionsPerDB bounds the collections of one database.
	CollectionsPerDB int
}

// Defaults of Quotas.
const (
	DefaultDBsPerIdentity   = 100
	DefaultCollectionsPerDB = 100
)
