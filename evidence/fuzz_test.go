package evidence

import (
	"bytes"
	"testing"

	"corridor/internal/testfiles"
)

// FuzzClean feeds Clean what a sender may upload: it must refuse or
// return a file of an allowed type that cleans to itself, and never
// panic.
func FuzzClean(f *testing.F) {
	f.Add(testfiles.PhotoWithGPS(), "image/jpeg")
	f.Add(testfiles.PortraitPhoto(), "image/jpeg")
	f.Add(webp1x1(), "")
	f.Add([]byte("%PDF-1.4\n%%EOF"), "application/pdf")
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), "image/png")
	f.Add([]byte("RIFF\x10\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00"), "image/webp")
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		c, err := Clean(data, declared)
		if err != nil {
			return
		}
		again, err := Clean(c.Data, c.MediaType)
		if err != nil {
			t.Fatalf("a cleaned %s does not clean again: %v", c.MediaType, err)
		}
		if !bytes.Equal(again.Data, c.Data) {
			t.Fatalf("cleaning a cleaned %s changed it again", c.MediaType)
		}
	})
}
