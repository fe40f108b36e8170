// Package tune fine-tunes the last blocks of a backbone together with a linear head, and runs the
// mimicry attack of Wang et al., "With Great Training Comes Great Vulnerability: Practical Attacks
// against Transfer Learning" (USENIX Security 2018) against students built on that backbone, with
// the paper's neuron-distance defence. Pure Go on package kernels, like the rest of the trainer.
package tune

// DSSIM is the perceptual budget of the attack: (1 − SSIM)/2 between two images, SSIM (Wang,
// Bovik, Sheikh, Simoncelli 2004) averaged over every 7×7 window that fits inside the image (the
// window scikit-image uses by default) and over the channels, with the population variances and
// the constants C1 = 0.01², C2 = 0.03² of pixel values in [0, 1].
//
//	x, y (H,W,C) in [0,1]; grad (H,W,C) or nil: if given, grad += ∂DSSIM/∂x
type DSSIM struct {
	H, W, C int
	// scratch, (H−6)·(W−6) each: window sums of x, y, x², y², xy, then the adjoint maps
	sx, sy, sxx, syy, sxy []float32
	a, b, c               []float32
	tmp                   []float32
	xc, yc, sq            []float32
}

const ssimWin = 7

// NewDSSIM returns a DSSIM for (H,W,C) images, H and W at least 7.
func NewDSSIM(H, W, C int) *DSSIM {
	if H < ssimWin || W < ssimWin || C < 1 {
		panic("tune: DSSIM needs images of at least 7×7")
	}
	n := (H - ssimWin + 1) * (W - ssimWin + 1)
	d := &DSSIM{H: H, W: W, C: C}
	for _, p := range []*[]float32{&d.sx, &d.sy, &d.sxx, &d.syy, &d.sxy, &d.a, &d.b, &d.c} {
		*p = make([]float32, n)
	}
	d.tmp = make([]float32, H*W)
	d.xc, d.yc, d.sq = make([]float32, H*W), make([]float32, H*W), make([]float32, H*W)
	return d
}

// boxSum writes the sum of every 7×7 window of src (H,W) into dst (H−6, W−6), separably.
func boxSum(dst, src, tmp []float32, H, W int) {
	OW := W - ssimWin + 1
	for h := 0; h < H; h++ {
		row := src[h*W : h*W+W]
		var s float32
		for w := 0; w < ssimWin; w++ {
			s += row[w]
		}
		tmp[h*OW] = s
		for w := 1; w < OW; w++ {
			s += row[w+ssimWin-1] - row[w-1]
			tmp[h*OW+w] = s
		}
	}
	OH := H - ssimWin + 1
	for w := 0; w < OW; w++ {
		var s float32
		for h := 0; h < ssimWin; h++ {
			s += tmp[h*OW+w]
		}
		dst[w] = s
		for h := 1; h < OH; h++ {
			s += tmp[(h+ssimWin-1)*OW+w] - tmp[(h-1)*OW+w]
			dst[h*OW+w] = s
		}
	}
}

// boxSpread is boxSum's adjoint: dst (H,W) = Σ over the windows that contain each pixel of src
// (H−6, W−6).
func boxSpread(dst, src, tmp []float32, H, W int) {
	OH, OW := H-ssimWin+1, W-ssimWin+1
	for h := 0; h < H; h++ {
		for w := 0; w < OW; w++ {
			var s float32
			for k := max(0, h-ssimWin+1); k <= min(h, OH-1); k++ {
				s += src[k*OW+w]
			}
			tmp[h*OW+w] = s
		}
	}
	for h := 0; h < H; h++ {
		for w := 0; w < W; w++ {
			var s float32
			for k := max(0, w-ssimWin+1); k <= min(w, OW-1); k++ {
				s += tmp[h*OW+k]
			}
			dst[h*W+w] = s
		}
	}
}

// Eval returns DSSIM(x, y) and, if grad is not nil, adds its gradient with respect to x.
func (d *DSSIM) Eval(grad, x, y []float32) float64 {
	H, W, C := d.H, d.W, d.C
	if len(x) != H*W*C || len(y) != H*W*C || (grad != nil && len(grad) != H*W*C) {
		panic("tune: DSSIM image size mismatch")
	}
	const c1, c2 = 0.01 * 0.01, 0.03 * 0.03
	n := float32(ssimWin * ssimWin)
	nw := len(d.sx)
	var total float64
	scale := 1 / float32(nw*C)
	for ch := 0; ch < C; ch++ {
		for p := 0; p < H*W; p++ {
			d.xc[p], d.yc[p] = x[p*C+ch], y[p*C+ch]
		}
		boxSum(d.sx, d.xc, d.tmp, H, W)
		boxSum(d.sy, d.yc, d.tmp, H, W)
		sq := d.sq
		for p := 0; p < H*W; p++ {
			sq[p] = d.xc[p] * d.xc[p]
		}
		boxSum(d.sxx, sq, d.tmp, H, W)
		for p := 0; p < H*W; p++ {
			sq[p] = d.yc[p] * d.yc[p]
		}
		boxSum(d.syy, sq, d.tmp, H, W)
		for p := 0; p < H*W; p++ {
			sq[p] = d.xc[p] * d.yc[p]
		}
		boxSum(d.sxy, sq, d.tmp, H, W)
		for i := 0; i < nw; i++ {
			mx, my := d.sx[i]/n, d.sy[i]/n
			vx := d.sxx[i]/n - mx*mx
			vy := d.syy[i]/n - my*my
			cxy := d.sxy[i]/n - mx*my
			n1, n2 := 2*mx*my+c1, 2*cxy+c2
			d1, d2 := mx*mx+my*my+c1, vx+vy+c2
			s := n1 * n2 / (d1 * d2)
			total += float64(s)
			if grad != nil {
				dmx := s * (2*my/n1 - 2*mx/d1)
				dvx := -s / d2
				dcxy := 2 * s / n2
				// x_p enters μx, σx² = mean(x²) − μx² and σxy = mean(xy) − μxμy of each window.
				d.a[i] = (dmx - 2*mx*dvx - my*dcxy) / n
				d.b[i] = 2 * dvx / n
				d.c[i] = dcxy / n
			}
		}
		if grad != nil {
			// dDSSIM/dx = −½ · (1/(windows·C)) · Σ_windows ∂S/∂x.
			g := -0.5 * scale
			boxSpread(sq, d.a, d.tmp, H, W)
			for p := 0; p < H*W; p++ {
				grad[p*C+ch] += g * sq[p]
			}
			boxSpread(sq, d.b, d.tmp, H, W)
			for p := 0; p < H*W; p++ {
				grad[p*C+ch] += g * sq[p] * d.xc[p]
			}
			boxSpread(sq, d.c, d.tmp, H, W)
			for p := 0; p < H*W; p++ {
				grad[p*C+ch] += g * sq[p] * d.yc[p]
			}
		}
	}
	ssim := total / float64(nw*C)
	return (1 - ssim) / 2
}
