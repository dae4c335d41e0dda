// Package testfiles makes the evidence files tests upload: photographs
// as phones send them, with where and by whom in their metadata.
package testfiles

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
)

// GPS is what a phone writes into a photograph's EXIF: where it was
// taken and the camera's serial number.
const GPS = "Exif\x00\x00MM\x00*GPSLatitude 39.8177N GPSLongitude 46.7519E BodySerialNumber 0123456789"

// Picture is a w×h gradient, different at every pixel.
func Picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return img
}

// PhotoWithGPS is a 400×300 JPEG as a phone sends it: EXIF with GPS in
// APP1, an XMP packet naming its owner and a comment before the picture.
func PhotoWithGPS() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, Picture(400, 300), nil); err != nil {
		panic(err)
	}
	raw := b.Bytes()
	seg := func(marker byte, body string) []byte {
		s := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(body)+2))
		return append(s, body...)
	}
	out := append([]byte{}, raw[:2]...)
	out = append(out, seg(0xE1, GPS)...)
	out = append(out, seg(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>owner: field officer</x:xmpmeta>")...)
	out = append(out, seg(0xFE, "taken by field officer at the bridge")...)
	return append(out, raw[2:]...)
}
