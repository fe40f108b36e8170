// Package imagefile reads image files (JPEG with its EXIF orientation, PNG, GIF, WebP, BMP) into
// the RGBA pixels backbone.Model.Features takes. It is apart from backbone so that programs that get
// their pixels elsewhere (the browser's trainer, which decodes with the page's own image decoders)
// do not carry five decoders: about 650 kB of wasm.
package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // GIF: first frame
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

// Decode decodes a JPEG, PNG, GIF (first frame), WebP or BMP file into RGBA bytes that are
// not premultiplied — the layout backbone.Model.Features takes — applying the EXIF orientation of JPEGs so that
// the picture is upright. Images above 100 megapixels are refused before decoding.
func Decode(data []byte) (rgba []byte, w, h int, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, 0, 0, errors.New("not a JPEG, PNG, GIF, WebP or BMP image")
		}
		return nil, 0, 0, fmt.Errorf("cannot read image header: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPixels/cfg.Height {
		return nil, 0, 0, fmt.Errorf("%s image of %dx%d pixels is out of range", format, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("corrupt %s image: %v", format, err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		// Opaque pixels are the same premultiplied or not, and draw has fast paths into RGBA.
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
		rgba = dst.Pix
	} else {
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
		rgba = dst.Pix
	}
	if format == "jpeg" {
		if o := exifOrientation(data); o > 1 {
			rgba, w, h = orient(rgba, w, h, o)
		}
	}
	return rgba, w, h, nil
}

// MaxPixels bounds the images Decode accepts, as backbone bounds the ones it takes: a
// 100-megapixel photo is 400 MB of RGBA already.
const MaxPixels = 100 << 20

// exifOrientation returns the Orientation tag (1..8) of a JPEG's EXIF block, or 0 if there is none
// or it cannot be read: a damaged EXIF block never stops an image from being used.
func exifOrientation(jpeg []byte) int {
	if len(jpeg) < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 {
		return 0
	}
	p := 2
	for p+4 <= len(jpeg) {
		if jpeg[p] != 0xFF {
			return 0
		}
		marker := jpeg[p+1]
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image: no more metadata
			return 0
		}
		n := int(binary.BigEndian.Uint16(jpeg[p+2:]))
		if n < 2 || p+2+n > len(jpeg) {
			return 0
		}
		seg := jpeg[p+4 : p+2+n]
		if marker == 0xE1 && len(seg) >= 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 0
}

func tiffOrientation(t []byte) int {
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[ifd:]))
	for i := 0; i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// orient applies EXIF orientation o (2..8) to a w×h RGBA image: the result is upright.
func orient(src []byte, w, h, o int) ([]byte, int, int) {
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	dst := make([]byte, len(src))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // rotated 180
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored vertically
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // rotated 90 clockwise to view
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // rotated 90 counter-clockwise to view
				dx, dy = y, w-1-x
			default:
				dx, dy = x, y
			}
			copy(dst[4*(dy*ow+dx):][:4], src[4*(y*w+x):][:4])
		}
	}
	return dst, ow, oh
}
