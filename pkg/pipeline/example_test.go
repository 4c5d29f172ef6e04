package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hubctl/hubctl/pkg/pipeline"
)

// errBadName is what the receiver answers for an item it refuses.
var errBadName = errors.New("name has a space")

// Files are pushed in batches of at most three; the receiver refuses a batch that holds a
// name with a space, and the pipeline finds which one.
func Example() {
	names := []string{"a.txt", "b.txt", "c.txt", "d e.txt", "f.txt"}
	i := 0
	src := pipeline.SourceFunc[string](func(context.Context) (pipeline.Item[string], error) {
		if i == len(names) {
			return pipeline.Item[string]{}, io.EOF
		}
		n := names[i]
		i++
		return pipeline.Item[string]{Value: n, Target: "bucket", Size: int64(len(n))}, nil
	})
	res, err := pipeline.Run(context.Background(), src, pipeline.Config[string]{
		MaxItems: 3,
		Send: func(_ context.Context, b pipeline.Batch[string]) error {
			for _, n := range b.Values() {
				if strings.Contains(n, " ") {
					return errBadName // nothing of the batch is written
				}
			}
			fmt.Println("pushed", b.Values())
			return nil
		},
		Split: func(err error) bool { return errors.Is(err, errBadName) },
	})
	var refused *pipeline.RefusedError[string]
	if errors.As(err, &refused) {
		fmt.Printf("%s (item %d): %v; %d written\n", refused.Item.Value, refused.Item.Index, err, res.Written["bucket"])
	}
	// Output:
	// pushed [a.txt b.txt c.txt]
	// d e.txt (item 3): name has a space; 3 written
}
