//go:build !js

// Package headless starts Debian's Chromium for the browser tests, the share-link check and the
// benchmark with the one set of flags that works on these machines: headless without a sandbox,
// no first-run, background, component-update or sync traffic, no QUIC, /dev/shm left alone, and
// WebGL2 through SwiftShader (the plot needs it; --disable-gpu stays out, as it stalls the page
// on ReadPixels).
package headless

import "github.com/chromedp/chromedp"

// FakeWebcam gives the page a fake camera, granted without a prompt.
var FakeWebcam = []chromedp.ExecAllocatorOption{
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
}

// Options returns the allocator options for Chromium at exe with a window of width×height, a
// profile in the directory profile (a fresh temporary one when ""), and extra appended.
func Options(exe, profile string, width, height int, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true),
	}
	if profile != "" {
		opts = append(opts, chromedp.UserDataDir(profile))
	}
	return append(opts, extra...)
}

// NetLog records every request any part of the browser makes into the file path.
func NetLog(path string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("log-net-log", path),
		chromedp.Flag("net-log-capture-mode", "Default"),
	}
}
