// Package evidence keeps the files monitors and field staff attach to
// records: photographs, scans, letters. A file is checked and its
// metadata stripped (Clean), then stored under the SHA-256 of what is
// left (Store), which the signed record carries.
package evidence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for Clean and thumbnails
	_ "image/png"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	_ "golang.org/x/image/webp"

	"corridor"
)

// MaxPixels bounds the images Clean decodes, so that a small file that
// claims a huge picture cannot exhaust memory.
const MaxPixels = 60_000_000

// Cleaned is a file ready to store: its bytes with identifying metadata
// removed, its media type as read from the content, and what was removed.
type Cleaned struct {
	Data      []byte
	MediaType string
	Stripped  []string // e.g. "EXIF", "XMP", "comment"
}

// Error is a file refused, with the reason a user can act on.
type Error struct {
	Status int // HTTP status: 413 too large, 415 type not allowed, 400 otherwise
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// Clean checks a file and strips the metadata that can identify who took
// it, where and with what (EXIF with GPS and camera serials, XMP, IPTC,
// comments), without re-encoding the picture. declared is the media type
// the sender gave ("" for none); it must agree with the content.
func Clean(data []byte, declared string) (*Cleaned, error) {
	if len(data) == 0 {
		return nil, refuse(http.StatusBadRequest, "the file is empty")
	}
	if len(data) > corridor.MaxFileSize {
		return nil, refuse(http.StatusRequestEntityTooLarge, "the file is %d bytes; the limit is %d (20 MB)", len(data), corridor.MaxFileSize)
	}
	sniffed, _, _ := strings.Cut(http.DetectContentType(data), ";")
	if declared != "" {
		d, _, _ := strings.Cut(declared, ";")
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "application/octet-stream" && d != sniffed {
			if !slices.Contains(corridor.FileTypes, d) {
				return nil, refuse(http.StatusUnsupportedMediaType, "media type %q is not allowed (allowed: %s)", d, strings.Join(corridor.FileTypes, ", "))
			}
			return nil, refuse(http.StatusBadRequest, "the file was sent as %s but its content is %s", d, sniffed)
		}
	}
	if !slices.Contains(corridor.FileTypes, sniffed) {
		return nil, refuse(http.StatusUnsupportedMediaType, "the content is %s, which is not allowed (allowed: %s)", sniffed, strings.Join(corridor.FileTypes, ", "))
	}
	c := &Cleaned{MediaType: sniffed}
	var err error
	switch sniffed {
	case "image/jpeg":
		c.Data, c.Stripped, err = stripJPEG(data)
	case "image/png":
		c.Data, c.Stripped, err = stripPNG(data)
	case "image/webp":
		c.Data, c.Stripped, err = stripWebP(data)
	case "application/pdf":
		c.Data, err = data, checkPDF(data)
	case "text/plain":
		c.Data, err = data, checkPlainText(data)
	}
	if err != nil {
		return nil, err
	}
	if corridor.IsImage(sniffed) {
		if err := checkDecodes(c.Data); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkDecodes decodes the whole picture: a file that shows nothing is
// no evidence.
func checkDecodes(data []byte) error {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return refuse(http.StatusBadRequest, "the image does not decode: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > MaxPixels {
		return refuse(http.StatusBadRequest, "the %s image is %d×%d pixels; at most %d pixels are taken", format, cfg.Width, cfg.Height, MaxPixels)
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return refuse(http.StatusBadRequest, "the %s image does not decode: %v", format, err)
	}
	return nil
}

// stripJPEG drops the application segments that carry metadata (APP1
// EXIF and XMP, APP13 IPTC, every other APPn but JFIF, an ICC profile and
// Adobe's colour marker) and comments, up to the start of the scan, and
// keeps the rest byte for byte. Of EXIF only the orientation is kept (a
// segment of its own, see orient.go), so that a portrait stays upright.
func stripJPEG(data []byte) ([]byte, []string, error) {
	bad := refuse(http.StatusBadRequest, "the JPEG file is damaged: its segments do not add up")
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, nil, bad
	}
	out := append(make([]byte, 0, len(data)), 0xFF, 0xD8)
	var stripped []string
	kept := false // the orientation, in an EXIF segment of its own
	i := 2
	for {
		for i < len(data) && data[i] == 0xFF && i+1 < len(data) && data[i+1] == 0xFF {
			i++ // fill bytes
		}
		if i+4 > len(data) || data[i] != 0xFF {
			return nil, nil, bad
		}
		marker := data[i+1]
		if marker == 0xD9 { // end of image before a scan
			return nil, nil, bad
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil, nil, bad
		}
		seg, body := data[i:i+2+n], data[i+4:i+2+n]
		if marker == 0xDA { // start of scan: the picture itself, kept whole
			return append(out, data[i:]...), stripped, nil
		}
		if o := exifOrientation(body); marker == 0xE1 && o > 1 && !kept && bytes.Equal(seg, orientationSegment(o)) {
			out, kept = append(out, seg...), true // the orientation alone: cleaned already
		} else if what := jpegMetadata(marker, body); what != "" {
			if !slices.Contains(stripped, what) {
				stripped = append(stripped, what)
			}
			if o := exifOrientation(body); what == "EXIF" && o > 1 && !kept {
				out, kept = append(out, orientationSegment(o)...), true
			}
		} else {
			out = append(out, seg...)
		}
		i += 2 + n
	}
}

// jpegMetadata names what a segment carries if it is metadata to drop,
// or returns "" for a segment the picture needs.
func jpegMetadata(marker byte, body []byte) string {
	switch {
	case marker == 0xFE:
		return "comment"
	case marker == 0xE0 && bytes.HasPrefix(body, []byte("JFIF\x00")):
		return ""
	case marker == 0xE2 && bytes.HasPrefix(body, []byte("ICC_PROFILE\x00")):
		return ""
	case marker == 0xEE && bytes.HasPrefix(body, []byte("Adobe")):
		return ""
	case marker == 0xE1 && bytes.HasPrefix(body, []byte("Exif\x00")):
		return "EXIF"
	case marker == 0xE1:
		return "XMP"
	case marker == 0xED:
		return "IPTC"
	case marker >= 0xE0 && marker <= 0xEF:
		return fmt.Sprintf("APP%d", marker-0xE0)
	}
	return ""
}

// pngMetadata are the ancillary chunks that carry text, times and EXIF.
var pngMetadata = map[string]string{"eXIf": "EXIF", "tEXt": "text", "zTXt": "text", "iTXt": "text", "tIME": "time"}

// stripPNG drops the metadata chunks and keeps the others byte for byte
// (each chunk carries its own checksum).
func stripPNG(data []byte) ([]byte, []string, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	bad := refuse(http.StatusBadRequest, "the PNG file is damaged: its chunks do not add up")
	if !bytes.HasPrefix(data, []byte(sig)) {
		return nil, nil, bad
	}
	out := append(make([]byte, 0, len(data)), sig...)
	var stripped []string
	for i := len(sig); ; {
		if i+12 > len(data) {
			return nil, nil, bad
		}
		n := int(binary.BigEndian.Uint32(data[i:]))
		if n < 0 || n > len(data)-i-12 {
			return nil, nil, bad
		}
		typ := string(data[i+4 : i+8])
		chunk := data[i : i+12+n]
		if what, ok := pngMetadata[typ]; ok {
			if !slices.Contains(stripped, what) {
				stripped = append(stripped, what)
			}
		} else {
			out = append(out, chunk...)
		}
		i += 12 + n
		if typ == "IEND" {
			return out, stripped, nil
		}
	}
}

// stripWebP drops the EXIF and XMP chunks of a RIFF WebP file and clears
// their flags in its VP8X header.
func stripWebP(data []byte) ([]byte, []string, error) {
	bad := refuse(http.StatusBadRequest, "the WebP file is damaged: its chunks do not add up")
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil, nil, bad
	}
	end := 8 + int(binary.LittleEndian.Uint32(data[4:]))
	if end > len(data) || end < 12 {
		return nil, nil, bad
	}
	out := append(make([]byte, 0, len(data)), data[:12]...)
	var stripped []string
	for i := 12; i < end; {
		if i+8 > end {
			return nil, nil, bad
		}
		typ := string(data[i : i+4])
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		padded := n + n&1
		if n < 0 || padded > end-i-8 {
			return nil, nil, bad
		}
		chunk := data[i : i+8+padded]
		switch typ {
		case "EXIF", "XMP ":
			stripped = append(stripped, strings.TrimSpace(typ))
		case "VP8X":
			c := bytes.Clone(chunk)
			if len(c) > 8 {
				c[8] &^= 0x08 | 0x04 // EXIF and XMP present
			}
			out = append(out, c...)
		default:
			out = append(out, chunk...)
		}
		i += 8 + padded
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, stripped, nil
}

func checkPDF(data []byte) error {
	tail := data[max(0, len(data)-1024):]
	if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(tail, []byte("%%EOF")) {
		return refuse(http.StatusBadRequest, "the PDF file is damaged or cut short: it must begin with %%PDF- and end with %%%%EOF")
	}
	return nil
}

func checkPlainText(data []byte) error {
	if !utf8.Valid(data) {
		return refuse(http.StatusBadRequest, "the text file is not valid UTF-8")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return refuse(http.StatusBadRequest, "the text file holds a NUL byte at %d", i)
	}
	return nil
}
