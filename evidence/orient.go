package evidence

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/draw"
)

// A phone stores a photograph as the sensor read it and says in EXIF how
// to turn it upright (the Orientation tag, 1 to 8). Stripping EXIF would
// leave portrait photos lying on their side, so the orientation alone is
// kept, in an EXIF segment that holds nothing else.

// exifOrientation reads the Orientation tag from an APP1 EXIF body
// ("Exif\0\0" and a TIFF structure); 0 if there is none or it cannot be
// read.
func exifOrientation(body []byte) int {
	if !bytes.HasPrefix(body, []byte("Exif\x00\x00")) {
		return 0
	}
	t := body[6:]
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 && bo.Uint32(t[e+4:]) == 1 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// orientationSegment is an APP1 EXIF segment with the Orientation tag
// and nothing else.
func orientationSegment(o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation, SHORT, 1, value
		0, 0, 0, 0} // no next IFD
	body := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	return append(seg, body...)
}

// jpegOrientation is the orientation a (cleaned) JPEG's EXIF gives, 1 if
// none.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xDA || n < 2 || i+2+n > len(data) {
			break
		}
		if marker == 0xE1 {
			if o := exifOrientation(data[i+4 : i+2+n]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// upright turns an image the way its EXIF orientation says.
func upright(src image.Image, o int) image.Image {
	if o <= 1 || o > 8 {
		return src
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 { // the four that swap width and height
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // upside down, mirrored
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // turned a quarter to the left: turn it right
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // turned a quarter to the right: turn it left
				dx, dy = y, w-1-x
			}
			i, j := rgba.PixOffset(x, y), dst.PixOffset(dx, dy)
			copy(dst.Pix[j:j+4], rgba.Pix[i:i+4])
		}
	}
	return dst
}
