package kernels

import "testing"

func TestActivations(t *testing.T) {
	x := []float32{-7, -3, -1, 0, 0.5, 3, 6, 9}
	for _, tc := range []struct {
		act  FusedAct
		want []float32
	}{
		{FusedNone, []float32{-7, -3, -1, 0, 0.5, 3, 6, 9}},
		{FusedRelu, []float32{0, 0, 0, 0, 0.5, 3, 6, 9}},
		{FusedRelu6, []float32{0, 0, 0, 0, 0.5, 3, 6, 6}},
		{FusedHardSwish, []float32{0, 0, -1.0 / 3, 0, 0.5 * 3.5 / 6, 3, 6, 9}},
	} {
		got := append([]float32(nil), x...)
		actApply(got, tc.act)
		cvClose(t, tc.act.String(), got, tc.want, 1e-6)
	}
}
