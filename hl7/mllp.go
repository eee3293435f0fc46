package hl7

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MLLP frame bytes: a message is sent as <VT> message <FS><CR>.
const (
	StartBlock = 0x0B
	EndBlock   = 0x1C
	CR         = 0x0D
)

// ErrFrameTooLarge: a frame passed the reader's limit. The reader has
// skipped the rest of the frame, so the connection can go on.
var ErrFrameTooLarge = errors.New("mllp: frame too large")

// FrameReader reads MLLP frames.
type FrameReader struct {
	r   *bufio.Reader
	max int
}

// NewFrameReader reads frames of at most max bytes from r.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Read returns the next frame's content. Bytes before a start block are
// skipped. For a frame over the limit it returns the first max bytes and
// ErrFrameTooLarge, after reading past the frame's end. io.EOF means the
// peer closed between frames; io.ErrUnexpectedEOF, inside one.
func (f *FrameReader) Read() ([]byte, error) {
	for {
		b, err := f.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == StartBlock {
			break
		}
	}
	var buf []byte
	over := false
	for {
		b, err := f.r.ReadByte()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if b == EndBlock {
			// The CR that ends the frame is taken when it came with it; a
			// frame that ends at <FS> is answered without waiting for more
			// bytes (a CR that comes later is skipped before the next frame).
			if f.r.Buffered() > 0 {
				if next, err := f.r.Peek(1); err == nil && next[0] == CR {
					_, _ = f.r.ReadByte()
				}
			}
			if over {
				return buf, ErrFrameTooLarge
			}
			return buf, nil
		}
		if b == StartBlock {
			// a sender that gave up on a frame and started another
			buf, over = buf[:0], false
			continue
		}
		if len(buf) >= f.max {
			over = true
			continue
		}
		buf = append(buf, b)
	}
}

// WriteFrame writes msg as one MLLP frame.
func WriteFrame(w io.Writer, msg []byte) error {
	frame := make([]byte, 0, len(msg)+3)
	frame = append(frame, StartBlock)
	frame = append(frame, msg...)
	frame = append(frame, EndBlock, CR)
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("mllp: write: %w", err)
	}
	return nil
}
