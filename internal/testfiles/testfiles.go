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

// Serial is the camera serial number PortraitPhoto's EXIF carries.
const Serial = "CAM-SERIAL-0123456789"

// PortraitPhoto is a photograph held upright but stored as the sensor read
// it: 400×300 pixels, with a real EXIF block saying to turn it a quarter
// to the right (Orientation 6), the camera's serial number and where it
// was taken (a GPS block).
func PortraitPhoto() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, Picture(400, 300), nil); err != nil {
		panic(err)
	}
	raw := b.Bytes()
	// TIFF, big-endian: IFD0 at 8 with Orientation, BodySerialNumber (an
	// ASCII value stored after the IFDs) and the GPS IFD pointer; the GPS
	// IFD with GPSLatitudeRef "N".
	le := binary.BigEndian
	t := []byte{'M', 'M', 0, 42, 0, 0, 0, 8}
	entry := func(tag, typ uint16, count, value uint32) []byte {
		e := make([]byte, 12)
		le.PutUint16(e, tag)
		le.PutUint16(e[2:], typ)
		le.PutUint32(e[4:], count)
		if typ == 3 && count == 1 {
			le.PutUint16(e[8:], uint16(value))
		} else {
			le.PutUint32(e[8:], value)
		}
		return e
	}
	const ifd0 = 8
	const ifd0Len = 2 + 3*12 + 4
	const gps = ifd0 + ifd0Len
	const gpsLen = 2 + 12 + 4
	const serialAt = gps + gpsLen
	t = append(t, 0, 3)
	t = append(t, entry(0x0112, 3, 1, 6)...)
	t = append(t, entry(0x8825, 4, 1, gps)...)
	t = append(t, entry(0xA431, 2, uint32(len(Serial)+1), serialAt)...)
	t = append(t, 0, 0, 0, 0)
	t = append(t, 0, 1)
	t = append(t, entry(0x0001, 2, 2, uint32('N')<<24)...)
	t = append(t, 0, 0, 0, 0)
	t = append(t, Serial+"\x00"...)
	body := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	out := append([]byte{}, raw[:2]...)
	out = append(out, seg...)
	out = append(out, body...)
	return append(out, raw[2:]...)
}
