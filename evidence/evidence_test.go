package evidence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"

	"corridor"
	"corridor/internal/testfiles"
)

func pngWithMetadata(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testfiles.Picture(50, 40)); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	chunk := func(typ, body string) []byte {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		c = append(c, typ...)
		c = append(c, body...)
		return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE([]byte(typ+body)))
	}
	// After IHDR (8 + 25 bytes): EXIF and a text chunk naming the author.
	out := append([]byte{}, raw[:33]...)
	out = append(out, chunk("eXIf", testfiles.GPS[6:])...)
	out = append(out, chunk("tEXt", "Author\x00field officer")...)
	return append(out, raw[33:]...)
}

// webp1x1 is a lossless WebP of one pixel, in a VP8X container with an
// EXIF chunk, as cameras that write WebP make them.
func webp1x1() []byte {
	var bits []byte
	var acc uint64
	var n uint
	put := func(v uint64, width uint) {
		acc |= v << n
		n += width
		for n >= 8 {
			bits = append(bits, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	put(0x2f, 8)             // VP8L signature
	put(0, 14)               // width - 1
	put(0, 14)               // height - 1
	put(0, 1)                // alpha hint
	put(0, 3)                // version
	put(0, 1)                // no transform
	put(0, 1)                // no colour cache
	put(0, 1)                // no meta prefix codes
	for i := 0; i < 5; i++ { // green, red, blue, alpha, distance: one symbol each
		put(1, 1) // simple code
		put(0, 1) // one symbol
		put(0, 1) // of one bit
		put(0, 1) // symbol 0
	}
	if n > 0 {
		bits = append(bits, byte(acc))
	}
	chunk := func(typ string, body []byte) []byte {
		c := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
		c = append(c, body...)
		if len(body)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := []byte{0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0} // EXIF flag; canvas 1×1
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, chunk("VP8L", bits)...)
	body = append(body, chunk("EXIF", []byte(testfiles.GPS[6:]))...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// TestCleanStripsWhereAndWho checks that what a phone writes into a photo
// (GPS, camera serial, the author) is gone from the stored file, that the
// picture is kept as it was, and that cleaning again changes nothing.
func TestCleanStripsWhereAndWho(t *testing.T) {
	for _, tc := range []struct {
		name, typ string
		data      []byte
		stripped  string
	}{
		{"jpeg", "image/jpeg", testfiles.PhotoWithGPS(), "EXIF,XMP,comment"},
		{"png", "image/png", pngWithMetadata(t), "EXIF,text"},
		{"webp", "image/webp", webp1x1(), "EXIF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Clean(tc.data, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			if c.MediaType != tc.typ || strings.Join(c.Stripped, ",") != tc.stripped {
				t.Fatalf("media type %s, stripped %v; want %s, %s", c.MediaType, c.Stripped, tc.typ, tc.stripped)
			}
			for _, leak := range []string{"GPSLatitude", "BodySerialNumber", "field officer", "Exif\x00"} {
				if bytes.Contains(c.Data, []byte(leak)) {
					t.Errorf("cleaned file still holds %q", leak)
				}
			}
			if !bytes.Contains(tc.data, []byte("GPSLatitude")) {
				t.Fatal("the test file carries no GPS to strip")
			}
			before, _, err1 := image.Decode(bytes.NewReader(tc.data))
			after, _, err2 := image.Decode(bytes.NewReader(c.Data))
			if err1 != nil || err2 != nil {
				t.Fatalf("decode: %v, %v", err1, err2)
			}
			if before.Bounds() != after.Bounds() || before.At(7, 0) != after.At(7, 0) {
				t.Errorf("picture changed: %v %v -> %v %v", before.Bounds(), before.At(7, 0), after.Bounds(), after.At(7, 0))
			}
			again, err := Clean(c.Data, "")
			if err != nil || !bytes.Equal(again.Data, c.Data) || len(again.Stripped) != 0 {
				t.Errorf("cleaning again: %v, stripped %v, same bytes %v", err, again.Stripped, err == nil && bytes.Equal(again.Data, c.Data))
			}
		})
	}
}

// TestCleanRefuses: each file a user may send by mistake gets a reason
// and the status a client acts on.
func TestCleanRefuses(t *testing.T) {
	photo := testfiles.PhotoWithGPS()
	cut := photo[:len(photo)/2]
	huge := make([]byte, corridor.MaxFileSize+1)
	copy(huge, photo)
	for _, tc := range []struct {
		name, typ string
		data      []byte
		status    int
		reason    string
	}{
		{"empty", "", nil, 400, "empty"},
		{"too large", "image/jpeg", huge, 413, "limit is 20971520"},
		{"html", "", []byte("<html><script>alert(1)</script></html>"), 415, "text/html"},
		{"declared png, is jpeg", "image/png", photo, 400, "sent as image/png but its content is image/jpeg"},
		{"type not allowed", "application/zip", photo, 415, `"application/zip" is not allowed`},
		{"jpeg cut short", "image/jpeg", cut, 400, "does not decode"},
		{"pdf without end", "application/pdf", []byte("%PDF-1.7\n1 0 obj\n"), 400, "cut short"},
		{"text not utf-8", "", []byte("caf\xe9 au lait, the convoy\n"), 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Clean(tc.data, tc.typ)
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("got %v (%+v); want status %d with %q", err, e, tc.status, tc.reason)
			}
		})
	}
	ok := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\ntrailer\n%%EOF\n")
	if c, err := Clean(ok, "application/pdf"); err != nil || c.MediaType != "application/pdf" {
		t.Fatalf("a whole PDF: %v", err)
	}
	if c, err := Clean([]byte("Waybill 17: 40 t flour, Hakari bridge\n"), "text/plain; charset=utf-8"); err != nil || c.MediaType != "text/plain" {
		t.Fatalf("plain text: %v", err)
	}
}

// TestStore: a file is kept under its SHA-256, storing it again changes
// nothing, a changed file no longer checks, and a thumbnail fits its box.
func TestStore(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Clean(testfiles.PhotoWithGPS(), "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Put(c.Data)
	if err != nil || sum != Sum(c.Data) {
		t.Fatalf("put: %s, %v", sum, err)
	}
	if again, err := s.Put(c.Data); err != nil || again != sum {
		t.Fatalf("put again: %s, %v", again, err)
	}
	if n, err := s.Stat(sum); err != nil || n != int64(len(c.Data)) {
		t.Fatalf("stat: %d, %v", n, err)
	}
	if _, err := s.Stat(strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat of a file never stored: %v", err)
	}
	if _, err := s.Path("../../etc/passwd"); err == nil {
		t.Fatal("a path that is not a SHA-256 was accepted")
	}
	th, err := s.Thumb(sum)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(th))
	if err != nil || format != "jpeg" || cfg.Width != ThumbSize || cfg.Height != ThumbSize*300/400 {
		t.Fatalf("thumbnail %s %d×%d, %v", format, cfg.Width, cfg.Height, err)
	}
	p, _ := s.Path(sum)
	if err := os.WriteFile(p, append(c.Data, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Check(sum); ok || err != nil {
		t.Fatalf("a changed file checks: %v %v", ok, err)
	}
	if got := http.DetectContentType(th); got != "image/jpeg" {
		t.Fatalf("thumbnail is %s", got)
	}
}

// TestPortraitStaysUpright: stripping a phone's EXIF keeps only how to
// turn the photo upright: the serial number and the GPS block go, the
// published file still says Orientation 6, and its thumbnail is drawn
// upright (taller than wide).
func TestPortraitStaysUpright(t *testing.T) {
	in := testfiles.PortraitPhoto()
	if jpegOrientation(in) != 6 {
		t.Fatalf("the test photo's orientation reads %d, want 6", jpegOrientation(in))
	}
	c, err := Clean(in, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(c.Data, []byte(testfiles.Serial)) || bytes.Contains(c.Data, []byte{0x88, 0x25}) {
		t.Error("the camera serial or the GPS block is left in the published photo")
	}
	if !bytes.Contains(c.Data, orientationSegment(6)) || jpegOrientation(c.Data) != 6 {
		t.Errorf("the published photo lost its orientation (reads %d)", jpegOrientation(c.Data))
	}
	if n := bytes.Count(c.Data, []byte("Exif\x00\x00")); n != 1 {
		t.Errorf("%d EXIF segments in the published photo, want the one with the orientation", n)
	}
	if again, err := Clean(c.Data, "image/jpeg"); err != nil {
		t.Errorf("cleaning the published photo again: %v", err)
	} else if !bytes.Equal(again.Data, c.Data) || len(again.Stripped) != 0 {
		t.Errorf("cleaning the published photo again stripped %v: want it unchanged, nothing more to strip", again.Stripped)
	}
	thumb, err := Thumbnail(c.Data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(thumb))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 240 || cfg.Height != ThumbSize {
		t.Errorf("the thumbnail is %d×%d, want 240×%d: the photo turned upright", cfg.Width, cfg.Height, ThumbSize)
	}
	// The picture is turned, not only its size: green grows down the
	// stored image (0 on its first row, 43 on its last), so once turned a
	// quarter to the right the top right corner (the stored top left) is
	// darker in green than the top left (the stored bottom left).
	img, _, _ := image.Decode(bytes.NewReader(thumb))
	_, g1, _, _ := img.At(cfg.Width-2, 1).RGBA()
	_, g2, _, _ := img.At(1, 1).RGBA()
	if g1>>8+20 > g2>>8 {
		t.Errorf("the thumbnail is not turned a quarter to the right (green top right %d, top left %d)", g1>>8, g2>>8)
	}
}
