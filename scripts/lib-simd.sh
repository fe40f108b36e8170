# shellcheck shell=bash
# Sourced by build.sh and scripts/*.sh: how to build and test the SIMD128 WebAssembly.
#
# The SIMD128 kernels (kernels/*_simd.go, simd_wasm.go) use Go's experimental simd/archsimd, whose
# WebAssembly vectors need Go 1.27 and GOEXPERIMENT=simd. go.mod stays at go 1.26 and everything
# else builds with the machine's Go; only these builds name the newer toolchain, which the Go
# module proxy serves once per machine (about 76 MB, cached under $(go env GOMODCACHE)). Both
# toolchains ship the same wasm_exec.js, so one loader runs either build.
SIMD_GOTOOLCHAIN=${SIMD_GOTOOLCHAIN:-go1.27.3}

# simd_go runs go with the SIMD128 toolchain and experiment, e.g. simd_go build -o x.wasm ./wasm/trainer
# (GOOS=js GOARCH=wasm come from the caller).
simd_go() {
  GOTOOLCHAIN=$SIMD_GOTOOLCHAIN GOEXPERIMENT=simd go "$@"
}
