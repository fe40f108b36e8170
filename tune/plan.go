package tune

import (
	"fmt"
	"time"

	"finetuner/backbone"
)

// A Plan is what fine-tuning the blocks of top on n cached rows will take, measured before it
// starts: memory (the cached activations, the section's activations and gradients, the weights
// with their gradients and two Adam moments, and the frozen layers' activations while caching) and time (one timed forward and backward of the
// section, times the rows an epoch runs).
type Plan struct {
	Rows          int     `json:"rows"`
	CacheBytes    int64   `json:"cacheBytes"`
	SectionBytes  int64   `json:"sectionBytes"`
	FrozenBytes   int64   `json:"frozenBytes"` // the frozen layers' activations while caching
	WeightBytes   int64   `json:"weightBytes"`
	TotalBytes    int64   `json:"totalBytes"`
	LimitBytes    int64   `json:"limitBytes"`
	Params        int     `json:"params"`
	MsPerRow      float64 `json:"msPerRow"`
	SecPerEpoch   float64 `json:"secPerEpoch"`
	CacheSeconds  float64 `json:"cacheSeconds"` // running every image through the frozen layers once
	FrozenMsPerIm float64 `json:"frozenMsPerImage"`
}

// NewPlan measures a Plan for n images, nTrain of them for training, over top (trainable, its
// parameters' gradients are left cleared) and below (the frozen layers from the image to top's
// input, timed on one zero image, or nil to skip that estimate). limit is the memory the caller
// allows.
func NewPlan(top, below *backbone.Section, n, nTrain int, limit int64) Plan {
	in := top.InShape()
	p := Plan{Rows: n, LimitBytes: limit}
	p.CacheBytes = 4 * int64(n) * int64(in[0]*in[1]*in[2])
	for _, q := range top.Params() {
		p.Params += len(q.W)
	}
	p.SectionBytes = top.Bytes()
	p.WeightBytes = 16 * int64(p.Params)
	if below != nil {
		p.FrozenBytes = below.Bytes()
	}
	p.TotalBytes = p.CacheBytes + p.SectionBytes + p.WeightBytes + p.FrozenBytes
	row := make([]float32, in[0]*in[1]*in[2])
	sh := top.OutShape()
	dout := make([]float32, sh[0]*sh[1]*sh[2])
	const probes = 3
	t0 := time.Now()
	for i := 0; i < probes; i++ {
		top.Forward(row)
		top.Backward(dout)
	}
	top.ZeroGrad()
	p.MsPerRow = float64(time.Since(t0).Microseconds()) / 1000 / probes
	// An epoch: forward and backward of every training row, forward only (about a third) of the
	// validation rows.
	p.SecPerEpoch = p.MsPerRow * (float64(nTrain) + float64(n-nTrain)/3) / 1000
	if below != nil {
		bi := below.InShape()
		t1 := time.Now()
		below.Forward(make([]float32, bi[0]*bi[1]*bi[2]))
		p.FrozenMsPerIm = float64(time.Since(t1).Microseconds()) / 1000
		p.CacheSeconds = p.FrozenMsPerIm * float64(n) / 1000
	}
	return p
}

// Fits reports whether the plan's memory is within its limit, or an error that says how much
// is needed and what to change.
func (p Plan) Fits() error {
	if p.LimitBytes > 0 && p.TotalBytes > p.LimitBytes {
		return fmt.Errorf("fine-tuning needs %s (%s of cached activations for %d images, %s of block activations, %s of weights and optimiser state, %s for the frozen layers), more than the %s allowed: use fewer images or fewer blocks",
			mib(p.TotalBytes), mib(p.CacheBytes), p.Rows, mib(p.SectionBytes), mib(p.WeightBytes), mib(p.FrozenBytes), mib(p.LimitBytes))
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
