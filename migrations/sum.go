package migrations

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"unsafe"

	"github.com/schemahook/schemahook/failure"
)

// The sum file pins the exact bytes of every migration file so that an edit, an addition or
// a removal that did not go through `schemahook hash` is caught before anything runs:
//
//	h1:<base64 sha256 of all the lines below, each with its newline>
//	<name> h1:<base64 sha256 of the file's bytes>
//
// It lists every file the directory holds, in Dir order, each golang-migrate .down.sql or
// Flyway U file right after the file it belongs to: down files are never run, but they are
// reviewed like the rest and a silent edit is still worth catching.

// ComputeSum gives the content schemahook.sum must have for d.
func (d *Dir) ComputeSum() []byte {
	body := d.appendSumBody(nil)
	return append(sumHeader(body), body...)
}

// appendSumBody appends the lines below the first, built in one buffer: at thousands of
// files a string per line was most of the check's cost.
func (d *Dir) appendSumBody(b []byte) []byte {
	if b == nil {
		b = make([]byte, 0, len(d.Files)*(len(" h1:\n")+base64.StdEncoding.EncodedLen(sha256.Size)+64))
	}
	for line := range d.sumLines {
		b = append(b, line...)
	}
	return b
}

// sumLines yields the lines below the first, each with its newline, in one buffer reused
// from line to line (a line is valid until the next).
func (d *Dir) sumLines(yield func(line []byte) bool) {
	var line []byte
	for _, f := range d.Files {
		line = append(appendChecksumH1(append(append(line[:0], f.Name...), " h1:"...), f), '\n')
		if !yield(line) {
			return
		}
		if f.DownName != "" {
			line = append(appendH1(append(append(line[:0], f.DownName...), " h1:"...), f.Down), '\n')
			if !yield(line) {
				return
			}
		}
	}
}

// sumIs reports whether text is what ComputeSum gives, byte for byte. It compares line by
// line and hashes as it goes, so the sum of thousands of files is checked without building
// the expected one (a megabyte of fresh memory at ten thousand files).
func (d *Dir) sumIs(text string) bool {
	nl := strings.IndexByte(text, '\n')
	if nl < 0 {
		return false
	}
	first, body := text[:nl+1], text[nl+1:]
	rest := body
	for line := range d.sumLines {
		if !strings.HasPrefix(rest, bytesString(line)) {
			return false
		}
		rest = rest[len(line):]
	}
	if rest != "" {
		return false
	}
	// The body is what the lines would be: the first line must be its h1.
	sum := d.sumBody // of d.Sum's body: good only when text is d.Sum as read
	if sum == nil || unsafe.StringData(text) != unsafe.SliceData(d.Sum) || len(text) != len(d.Sum) {
		s := sha256.Sum256(stringBytes(body))
		sum = &s
	}
	want := append(base64.StdEncoding.AppendEncode([]byte("h1:"), sum[:]), '\n')
	return first == bytesString(want)
}

// sumHeader is the first line for body.
func sumHeader(body []byte) []byte {
	return append(appendH1([]byte("h1:"), bytesString(body)), '\n')
}

type sumEntry struct{ name, hash string }

func (d *Dir) sumEntries() []sumEntry {
	var out []sumEntry
	for _, f := range d.Files {
		out = append(out, sumEntry{f.Name, string(appendChecksumH1(nil, f))})
		if f.DownName != "" {
			out = append(out, sumEntry{f.DownName, h1(f.Down)})
		}
	}
	return out
}

// appendChecksumH1 appends h1 of f's content from its checksum, the same sha256 in hex.
func appendChecksumH1(b []byte, f *File) []byte {
	if f.sum != nil {
		return base64.StdEncoding.AppendEncode(b, f.sum[:])
	}
	var sum [sha256.Size]byte
	if len(f.Checksum) != hex.EncodedLen(sha256.Size) {
		return appendH1(b, f.Content)
	}
	if _, err := hex.Decode(sum[:], stringBytes(f.Checksum)); err != nil {
		return appendH1(b, f.Content)
	}
	return base64.StdEncoding.AppendEncode(b, sum[:])
}

func appendH1(b []byte, s string) []byte {
	sum := sha256.Sum256(stringBytes(s))
	return base64.StdEncoding.AppendEncode(b, sum[:])
}

func h1(s string) string { return string(appendH1(nil, s)) }

// CheckSum compares d.Sum with the files read. It returns nil when the directory has no sum
// file or when it matches; otherwise a *failure.Error (rule "stale-sum", or "sum-syntax" for a line
// that is not a sum line) naming every file added, changed or removed since the sum was
// written, or saying that the first line was edited by hand.
func (d *Dir) CheckSum() error {
	if d.Sum == nil {
		return nil
	}
	file := SumFileName
	if d.Path != "" {
		file = path.Join(d.Path, SumFileName)
	}
	hint := fmt.Sprintf("review the change, then run `schemahook hash %s`", d.hashArg())
	text := bytesString(d.Sum) // no copy: every string kept from text below is copied
	if strings.Contains(text, "\r\n") {
		text = strings.ReplaceAll(text, "\r\n", "\n")
	}
	if d.sumIs(text) {
		return nil // what `schemahook hash` writes, byte for byte: nothing to name
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "h1:") {
		return &failure.Error{File: file, Line: 1, Rule: "sum-syntax", Msg: "first line is not \"h1:<hash>\"; " + hint}
	}
	recorded := map[string]string{}
	var body strings.Builder
	for i, l := range lines[1:] {
		at := strings.LastIndex(l, " h1:")
		if at <= 0 {
			return &failure.Error{File: file, Line: i + 2, Rule: "sum-syntax", Msg: "not a \"<file> h1:<hash>\" line; " + hint}
		}
		name := l[:at]
		if _, dup := recorded[name]; dup {
			return &failure.Error{File: file, Line: i + 2, Rule: "sum-syntax", Msg: fmt.Sprintf("%s is listed twice; %s", name, hint)}
		}
		recorded[name] = l[at+len(" h1:"):]
		body.WriteString(l + "\n")
	}

	var added, changed, removed []string
	seen := map[string]bool{}
	for _, e := range d.sumEntries() {
		seen[e.name] = true
		h, ok := recorded[e.name]
		switch {
		case !ok:
			added = append(added, e.name)
		case h != e.hash:
			changed = append(changed, e.name)
		}
	}
	for name := range recorded {
		if !seen[name] {
			removed = append(removed, name)
		}
	}
	sort.Strings(removed)
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"added", added}, {"changed", changed}, {"removed", removed}} {
		if len(p.names) > 0 {
			parts = append(parts, p.what+" "+strings.Join(p.names, ", "))
		}
	}
	if len(parts) > 0 {
		return &failure.Error{File: file, Rule: "stale-sum", Msg: fmt.Sprintf("does not match the directory: %s; %s", strings.Join(parts, "; "), hint)}
	}
	if lines[0] != "h1:"+h1(body.String()) {
		return &failure.Error{File: file, Line: 1, Rule: "stale-sum", Msg: "first line does not match the lines below it (edited by hand?); " + hint}
	}
	return nil
}

// hashArg is the directory argument to suggest for `schemahook hash`.
func (d *Dir) hashArg() string {
	if d.Path == "" {
		return "DIR"
	}
	return d.Path
}
