package backbone

import (
	"flag"
	"os"
	"testing"
)

// TestMain caps fuzz-input minimisation at 2 s unless -fuzzminimizetime is given: the default (60 s)
// is spent on every new interesting input of the loader's multi-kilobyte JSON, which would use up
// the whole bounded fuzz pass of ./build.sh test.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.fuzzminimizetime" {
			set = true
		}
	})
	if !set && flag.Lookup("test.fuzzminimizetime") != nil {
		flag.Set("test.fuzzminimizetime", "2s")
	}
	os.Exit(m.Run())
}
