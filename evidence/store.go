package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/image/draw"

	"corridor"
	"corridor/internal/durable"
)

// ThumbSize is the longest side of a thumbnail, in pixels.
const ThumbSize = 320

// ErrNotFound: no file with that SHA-256 is stored.
var ErrNotFound = errors.New("no file with this SHA-256 is stored")

// Store keeps files in a folder under their SHA-256 (files/ab/abcd…),
// each written whole or not at all, and their thumbnails beside them.
type Store struct{ dir string }

// Open opens (creating if need be) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("evidence files: %w", err)
	}
	return &Store{dir: dir}, nil
}

// At reads the store in dir as it is, creating nothing (for audits of a
// copy).
func At(dir string) *Store { return &Store{dir: dir} }

// Dir is the folder the store keeps its files in.
func (s *Store) Dir() string { return s.dir }

// Path is where the file with SHA-256 sum is kept.
func (s *Store) Path(sum string) (string, error) {
	if !corridor.IsSHA256(sum) {
		return "", fmt.Errorf("%q is not a SHA-256 in lower-case hex", sum)
	}
	return filepath.Join(s.dir, sum[:2], sum), nil
}

// Sum is the SHA-256 of data in lower-case hex, as records carry it.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Put stores data, durably, and returns its SHA-256. Storing the same
// bytes again changes nothing.
func (s *Store) Put(data []byte) (string, error) {
	sum := Sum(data)
	p, _ := s.Path(sum)
	if fi, err := os.Stat(p); err == nil && fi.Size() == int64(len(data)) {
		if ok, _ := s.Check(sum); ok {
			return sum, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if err := durable.WriteFile(p, data, 0o644); err != nil {
		return "", err
	}
	return sum, nil
}

// Stat returns the size of the stored file, or ErrNotFound.
func (s *Store) Stat(sum string) (int64, error) {
	p, err := s.Path(sum)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Open opens the stored file, or returns ErrNotFound.
func (s *Store) Open(sum string) (*os.File, error) {
	p, err := s.Path(sum)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Check reads the stored file and reports whether its bytes still have
// the SHA-256 they are stored under.
func (s *Store) Check(sum string) (bool, error) {
	f, err := s.Open(sum)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}

// Thumb returns a JPEG thumbnail of the stored image, made once and kept.
// A thumbnail of a file whose bytes no longer match its SHA-256 is not
// made.
func (s *Store) Thumb(sum string) ([]byte, error) {
	p, err := s.Path(sum)
	if err != nil {
		return nil, err
	}
	tp := filepath.Join(s.dir, "thumbs", sum+".jpg")
	if b, err := os.ReadFile(tp); err == nil {
		return b, nil
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if Sum(data) != sum {
		return nil, fmt.Errorf("file %s no longer matches its SHA-256", sum)
	}
	b, err := Thumbnail(data)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(tp), 0o755); err != nil {
		return nil, err
	}
	return b, durable.WriteFile(tp, b, 0o644)
}

// Thumbnail scales an image down to fit ThumbSize×ThumbSize and encodes
// it as JPEG.
func Thumbnail(data []byte) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("image of %d×%d pixels is too large", cfg.Width, cfg.Height)
	}
	src, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if format == "jpeg" {
		src = upright(src, jpegOrientation(data))
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbSize || h > ThumbSize {
		if w >= h {
			w, h = ThumbSize, max(1, h*ThumbSize/w)
		} else {
			w, h = max(1, w*ThumbSize/h), ThumbSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src) // transparency on white
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Walk calls fn for every stored file (not thumbnails), with its size
// and when it was stored.
func (s *Store) Walk(fn func(sum string, size int64, stored time.Time) error) error {
	dirs, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue // thumbs/, temporary files
		}
		files, err := os.ReadDir(filepath.Join(s.dir, d.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			if !corridor.IsSHA256(f.Name()) || f.Name()[:2] != d.Name() {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				return err
			}
			if err := fn(f.Name(), fi.Size(), fi.ModTime()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Remove deletes a stored file and its thumbnail.
func (s *Store) Remove(sum string) error {
	p, err := s.Path(sum)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, "thumbs", sum+".jpg")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
