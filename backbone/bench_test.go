package backbone

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// modelsDir returns the converted models directory (FINETUNER_MODELS, else ../public/models), or
// skips the test when models have not been built.
func modelsDir(tb testing.TB) string {
	dir := os.Getenv("FINETUNER_MODELS")
	if dir == "" {
		dir = "../public/models"
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		tb.Skipf("no converted models in %s (./build.sh models builds them)", dir)
	}
	return dir
}

// BenchmarkForward times one image through each backbone at 224×224 (network only, preprocessing
// excluded) and reports ms/image and the activation memory of one forward pass.
func BenchmarkForward(b *testing.B) {
	dir := modelsDir(b)
	for _, id := range []string{"centernet", "mobilenetv2"} {
		b.Run(id, func(b *testing.B) {
			m, err := Load(os.DirFS(dir), id)
			if err != nil {
				b.Fatal(err)
			}
			h, w, c := m.InputShape()
			x := make([]float32, h*w*c)
			for i := range x {
				x[i] = m.info.InputRange[0] + (m.info.InputRange[1]-m.info.InputRange[0])*float32(i%251)/251
			}
			dst := make([]float32, m.Dim())
			if err := m.Forward(dst, x); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			cpu0 := cpuSeconds()
			for b.Loop() {
				if err := m.Forward(dst, x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
			b.ReportMetric((cpuSeconds()-cpu0)*1000/float64(b.N), "cpu-ms/image")
			b.ReportMetric(float64(m.PeakBytes())/1e6, "MB-activations")
			b.ReportMetric(float64(m.WeightBytes())/1e6, "MB-weights")
			b.ReportMetric(float64(ms.HeapInuse)/1e6, "MB-heap")
		})
	}
}

// BenchmarkPreprocess times crop + resize + scaling of one RGBA image to 224×224 (the part of
// Features before the network), for a webcam frame and a 12-megapixel photo.
func BenchmarkPreprocess(b *testing.B) {
	_, files, _ := tinyNet(b, rand.New(rand.NewPCG(8, 8)))
	info := tinyInfo
	info.InputSize = 224
	m, err := LoadGraphModel(files["model.json"], func(p string) ([]byte, error) { return files[p], nil }, &info)
	if err != nil {
		b.Fatal(err)
	}
	for _, sz := range [][2]int{{640, 480}, {4000, 3000}} {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			rgba := make([]byte, 4*sz[0]*sz[1])
			for i := range rgba {
				rgba[i] = byte(i * 31)
			}
			var x []float32
			for b.Loop() {
				if err := m.Preprocess(&x, rgba, sz[0], sz[1], View{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/image")
		})
	}
}
