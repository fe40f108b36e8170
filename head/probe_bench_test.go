package head_test

import (
	"context"
	"os"
	"testing"

	"finetuner/featio"
	"finetuner/head"
)

// probeSets are the time-to-quality data sets of the bench: the 220 photo features in testdata,
// and the app's demo set (79 photos, 4 classes) when the site's embed features are built.
var probeSets = []struct{ name, features, labels string }{
	{"tux", "testdata/tux-centernet.npy", "testdata/tux-centernet.txt"},
	{"demo", "../public/build/features/demo-centernet-deep.npy", "../public/build/features/demo-centernet-deep.txt"},
}

// BenchmarkAutoProbe times the automatic probe with the bench's split (20% validation, seed 1):
// ms for the whole fit, and ms until the first head it reports (a "head" event).
func BenchmarkAutoProbe(b *testing.B) {
	for _, s := range probeSets {
		b.Run(s.name, func(b *testing.B) {
			if _, err := os.Stat(s.features); err != nil {
				b.Skipf("%s is not built (scripts/test-kiosk.sh builds it)", s.features)
			}
			ds, err := featio.Load(s.features, s.labels)
			if err != nil {
				b.Fatal(err)
			}
			var first, acc, firstAcc, iters float64
			for i := 0; i < b.N; i++ {
				got := false
				_, rep, err := head.AutoProbe(context.Background(), ds, head.Config{ValFraction: 0.2, Seed: 1}, nil, func(e head.Event) {
					if e.Kind == "trial" && !got {
						got = true
						first += e.ElapsedMs
						firstAcc = e.ValAcc
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				acc = rep.ValAcc
				iters += float64(rep.Epochs)
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/fit")
			b.ReportMetric(first/float64(b.N), "ms-to-first-trial")
			b.ReportMetric(100*firstAcc, "first-val-acc-%")
			b.ReportMetric(100*acc, "val-acc-%")
			b.ReportMetric(iters/float64(b.N), "iterations")
			b.ReportMetric(0, "ns/op")
		})
	}
}
