package head

import (
	"fmt"
	"sort"

	"finetuner/kernels"
)

// Dataset is a set of feature rows with integer labels.
type Dataset struct {
	X      []float32 // (N,D) row-major features
	N, D   int
	Y      []int32  // N labels, each in [0, len(Labels))
	Labels []string // class names
}

// Validate checks sizes, labels and values, and says what is wrong in words a user can act on.
func (ds *Dataset) Validate() error {
	if ds.N == 0 {
		return fmt.Errorf("head: no samples; add images or feature rows first")
	}
	if ds.D < 1 {
		return fmt.Errorf("head: feature dimension %d; features must have at least one value", ds.D)
	}
	if len(ds.X) != ds.N*ds.D {
		return fmt.Errorf("head: %d feature values for %d rows of %d; the feature file and labels disagree", len(ds.X), ds.N, ds.D)
	}
	if len(ds.Y) != ds.N {
		return fmt.Errorf("head: %d labels for %d feature rows", len(ds.Y), ds.N)
	}
	if err := validLabels(ds.Labels); err != nil {
		return fmt.Errorf("head: %v", err)
	}
	counts := make([]int, len(ds.Labels))
	for i, y := range ds.Y {
		if y < 0 || int(y) >= len(ds.Labels) {
			return fmt.Errorf("head: row %d has label index %d, outside the %d classes", i, y, len(ds.Labels))
		}
		counts[y]++
	}
	for c, n := range counts {
		if n == 0 {
			return fmt.Errorf("head: class %q has no samples; add some or remove the class", ds.Labels[c])
		}
	}
	return CheckFinite(ds.X, ds.D)
}

// Counts returns the number of samples of each class.
func (ds *Dataset) Counts() []int {
	counts := make([]int, len(ds.Labels))
	for _, y := range ds.Y {
		counts[y]++
	}
	return counts
}

// Split returns a stratified train/validation split of the row indices: each class sends
// round(frac·count) of its rows, in seeded random order, to validation, but always keeps at least
// one row for training, and gives validation at least one row of every class that has two or more
// when frac > 0. Both lists are sorted.
func Split(y []int32, classes int, frac float64, seed uint64) (train, val []int32) {
	if frac < 0 || frac >= 1 {
		panic("head: Split: frac outside [0, 1)")
	}
	byClass := make([][]int32, classes)
	for i, c := range y {
		byClass[c] = append(byClass[c], int32(i))
	}
	rng := kernels.NewRNG(seed ^ 0x5eed5b1175b1175)
	for _, idx := range byClass {
		rng.Shuffle(idx)
		nv := int(frac*float64(len(idx)) + 0.5)
		if frac > 0 && nv == 0 && len(idx) >= 2 {
			nv = 1
		}
		if nv > len(idx)-1 {
			nv = len(idx) - 1
		}
		if nv < 0 {
			nv = 0
		}
		val = append(val, idx[:nv]...)
		train = append(train, idx[nv:]...)
	}
	sort.Slice(train, func(i, j int) bool { return train[i] < train[j] })
	sort.Slice(val, func(i, j int) bool { return val[i] < val[j] })
	return train, val
}

// fitStandardizer returns per-feature mean and standard deviation over the given rows, in float64
// then rounded. A feature that is constant gets std 1, so it passes through centred.
func fitStandardizer(X []float32, D int, rows []int32) (mean, std []float32) {
	m := make([]float64, D)
	s := make([]float64, D)
	for _, r := range rows {
		for k, v := range X[int(r)*D : int(r)*D+D] {
			m[k] += float64(v)
		}
	}
	n := float64(len(rows))
	for k := range m {
		m[k] /= n
	}
	for _, r := range rows {
		for k, v := range X[int(r)*D : int(r)*D+D] {
			d := float64(v) - m[k]
			s[k] += d * d
		}
	}
	mean, std = make([]float32, D), make([]float32, D)
	for k := range m {
		mean[k] = float32(m[k])
		sd := sqrt(s[k] / n)
		if sd < 1e-6 {
			sd = 1
		}
		std[k] = float32(sd)
	}
	return mean, std
}

// gather copies the given rows of X (standardised by m) into a new (len(rows),D) buffer.
func gather(m *Model, X []float32, D int, rows []int32) []float32 {
	out := make([]float32, len(rows)*D)
	for i, r := range rows {
		m.standardize(out[i*D:i*D+D], X[int(r)*D:int(r)*D+D], 1)
	}
	return out
}

func gatherLabels(y []int32, rows []int32) []int32 {
	out := make([]int32, len(rows))
	for i, r := range rows {
		out[i] = y[r]
	}
	return out
}
