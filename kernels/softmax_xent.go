package kernels

import "math"

// SoftmaxCrossEntropyForward computes probs = softmax(logits) row by row and returns the mean
// cross-entropy against smoothed one-hot targets, weighted per class.
//
//	logits (N,C), targets (N) in [0,C), classWeight (C) or nil, probs (N,C)
//	q[n,c]  = (1-ε)·[c == targets[n]] + ε/C                      (label smoothing ε)
//	loss    = Σ_n w[y_n]·Σ_c q[n,c]·(−log probs[n,c]) / Σ_n w[y_n]
//
// It is stable for any logits: each row is shifted by its maximum and −log p is computed as
// log Σ exp(z−m) − (z_c−m), never as log of a rounded probability. Sums run in float64.
func SoftmaxCrossEntropyForward(probs, logits []float32, targets []int32, classWeight []float32, smoothing float32, N, C int) float64 {
	checkXent(probs, logits, targets, classWeight, smoothing, N, C)
	var total, wsum float64
	eps := float64(smoothing)
	for n := 0; n < N; n++ {
		z := logits[n*C : n*C+C]
		m, s := softmaxRow(probs[n*C:n*C+C], z)
		logS := math.Log(s)
		y := int(targets[n])
		// Σ_c q_c·(logS − (z_c − m)) = logS − (1−ε)(z_y − m) − ε/C·Σ_c (z_c − m)
		l := logS - (1-eps)*(float64(z[y])-float64(m))
		if eps > 0 {
			var zsum float64
			for _, v := range z {
				zsum += float64(v) - float64(m)
			}
			l -= eps / float64(C) * zsum
		}
		w := 1.0
		if classWeight != nil {
			w = float64(classWeight[y])
		}
		total += w * l
		wsum += w
	}
	if wsum == 0 {
		return 0
	}
	return total / wsum
}

// SoftmaxCrossEntropyBackward accumulates the gradient of the mean loss of
// SoftmaxCrossEntropyForward with respect to the logits:
//
//	dlogits[n,c] += w[y_n]/Σ_m w[y_m] · (probs[n,c] − q[n,c])
//
// probs (N,C) from the forward pass, targets (N), classWeight (C) or nil, dlogits (N,C).
func SoftmaxCrossEntropyBackward(dlogits, probs []float32, targets []int32, classWeight []float32, smoothing float32, N, C int) {
	checkXent(probs, dlogits, targets, classWeight, smoothing, N, C)
	var wsum float64
	if classWeight == nil {
		wsum = float64(N)
	} else {
		for n := 0; n < N; n++ {
			wsum += float64(classWeight[targets[n]])
		}
	}
	if wsum == 0 {
		return
	}
	off := smoothing / float32(C)
	on := 1 - smoothing + off
	for n := 0; n < N; n++ {
		y := int(targets[n])
		scale := float32(1 / wsum)
		if classWeight != nil {
			scale = float32(float64(classWeight[y]) / wsum)
		}
		p := probs[n*C : n*C+C]
		d := dlogits[n*C : n*C+C]
		for c := range d {
			q := off
			if c == y {
				q = on
			}
			d[c] += scale * (p[c] - q)
		}
	}
}

// Softmax computes probs = softmax(logits) row by row, stably.
//
//	logits (N,C), probs (N,C); probs and logits may be the same slice.
func Softmax(probs, logits []float32, N, C int) {
	if N < 0 || C <= 0 || len(probs) < N*C || len(logits) < N*C {
		panic("kernels: Softmax: bad sizes")
	}
	for n := 0; n < N; n++ {
		softmaxRow(probs[n*C:n*C+C], logits[n*C:n*C+C])
	}
}

// softmaxRow writes p = softmax(z) and returns the row maximum m and s = Σ exp(z−m).
func softmaxRow(p, z []float32) (m float32, s float64) {
	m = z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	for c, v := range z {
		e := math.Exp(float64(v) - float64(m))
		p[c] = float32(e)
		s += e
	}
	inv := 1 / s
	for c := range p {
		p[c] = float32(float64(p[c]) * inv)
	}
	return m, s
}

func checkXent(probs, logits []float32, targets []int32, classWeight []float32, smoothing float32, N, C int) {
	if N < 0 || C <= 0 {
		panic("kernels: SoftmaxCrossEntropy: bad sizes")
	}
	if len(probs) < N*C || len(logits) < N*C || len(targets) < N {
		panic("kernels: SoftmaxCrossEntropy: slice too short")
	}
	if classWeight != nil && len(classWeight) < C {
		panic("kernels: SoftmaxCrossEntropy: classWeight too short")
	}
	if smoothing < 0 || smoothing >= 1 {
		panic("kernels: SoftmaxCrossEntropy: smoothing outside [0, 1)")
	}
	for _, y := range targets[:N] {
		if y < 0 || int(y) >= C {
			panic("kernels: SoftmaxCrossEntropy: target out of range")
		}
	}
}
