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
	// Group, when set, holds N group ids: rows with the same id are views of one image (the plain
	// view and its augmentations), and the first of them, by row index, is the plain view. The
	// split keeps each group on one side, and validation scores only the plain view of each of its
	// images, so augmented copies never leak into validation or count one photo several times.
	// Nil means every row is its own image.
	Group []int32
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
	if err := ds.validGroups(); err != nil {
		return err
	}
	return CheckFinite(ds.X, ds.D)
}

// validGroups checks that Group has one id per row and that every group has one class.
func (ds *Dataset) validGroups() error {
	if ds.Group == nil {
		return nil
	}
	if len(ds.Group) != ds.N {
		return fmt.Errorf("head: %d group ids for %d feature rows", len(ds.Group), ds.N)
	}
	first := make(map[int32]int, ds.N)
	for i, g := range ds.Group {
		j, seen := first[g]
		if !seen {
			first[g] = i
			continue
		}
		if ds.Y[j] != ds.Y[i] {
			return fmt.Errorf("head: rows %d and %d are views of one image (group %d) but have classes %q and %q",
				j, i, g, ds.Labels[ds.Y[j]], ds.Labels[ds.Y[i]])
		}
	}
	return nil
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
	return SplitGroups(y, nil, classes, frac, seed)
}

// SplitGroups is Split over images instead of rows: group holds each row's image (see
// Dataset.Group; nil means one image per row). Images, not rows, are counted and shuffled; a
// training image brings all its rows, a validation image only its first row, the plain view. With
// a nil group it is Split.
func SplitGroups(y, group []int32, classes int, frac float64, seed uint64) (train, val []int32) {
	if frac < 0 || frac >= 1 {
		panic("head: Split: frac outside [0, 1)")
	}
	// rows[u] lists the rows of image u in index order; images are numbered by first row.
	var rows [][]int32
	if group == nil {
		rows = make([][]int32, len(y))
		for i := range rows {
			rows[i] = []int32{int32(i)}
		}
	} else {
		ids := make(map[int32]int32, len(y))
		for i, g := range group {
			u, ok := ids[g]
			if !ok {
				u = int32(len(rows))
				ids[g] = u
				rows = append(rows, nil)
			}
			rows[u] = append(rows[u], int32(i))
		}
	}
	byClass := make([][]int32, classes)
	for u, r := range rows {
		c := y[r[0]]
		byClass[c] = append(byClass[c], int32(u))
	}
	rng := kernels.NewRNG(seed ^ 0x5eed5b1175b1175)
	for _, us := range byClass {
		rng.Shuffle(us)
		nv := int(frac*float64(len(us)) + 0.5)
		if frac > 0 && nv == 0 && len(us) >= 2 {
			nv = 1
		}
		if nv > len(us)-1 {
			nv = len(us) - 1
		}
		if nv < 0 {
			nv = 0
		}
		for _, u := range us[:nv] {
			val = append(val, rows[u][0])
		}
		for _, u := range us[nv:] {
			train = append(train, rows[u]...)
		}
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
