package migrations

import (
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// lineIndex is the position index of one text: where each of its lines starts. Every
// message that points into a migration file (the reader's refusals, lint findings, allow
// directives, Postgres errors at apply) takes its 1-based line and column (in characters)
// from here, through File's methods below.
type lineIndex struct {
	text   string
	starts []int // byte offset of each line's start; starts[0] is 0
}

func newLineIndex(text string) *lineIndex {
	starts := make([]int, 1, strings.Count(text, "\n")+1)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &lineIndex{text: text, starts: starts}
}

// pos gives the line and column of a byte offset; offsets outside the text are clamped.
func (x *lineIndex) pos(offset int) (line, col int) {
	offset = max(0, min(offset, len(x.text)))
	line = x.line(offset)
	return line, utf8.RuneCountInString(x.text[x.starts[line-1]:offset]) + 1
}

// line is the 1-based line holding byte offset off (clamped to the text).
func (x *lineIndex) line(offset int) int {
	offset = max(0, min(offset, len(x.text)))
	return sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > offset })
}

// fileLines holds a File's index once built.
type fileLines struct{ p atomic.Pointer[lineIndex] }

// index is the position index of f.Content. Read builds it while splitting the file, so it
// costs nothing more; a File made by hand gets it on first use.
func (f *File) index() *lineIndex {
	if x := f.lines.p.Load(); x != nil && x.text == f.Content {
		return x
	}
	x := newLineIndex(f.Content)
	f.lines.p.Store(x)
	return x
}

// Pos gives the 1-based line and column (in characters) of a byte offset of f.Content, for
// messages that point into the file.
func (f *File) Pos(offset int) (line, col int) {
	return f.index().pos(offset)
}

// LineAt is the 1-based line of f.Content holding a byte offset.
func (f *File) LineAt(offset int) int { return f.index().line(offset) }

// LineCount is the number of lines of f.Content; one ending in a line break has an empty
// last line.
func (f *File) LineCount() int { return len(f.index().starts) }

// Line gives line ln (1-based) of f.Content: the byte offset where it starts and its text
// without the line break ("\r\n" included).
func (f *File) Line(ln int) (start int, text string) {
	x := f.index()
	start, end := x.starts[ln-1], len(x.text)
	if ln < len(x.starts) {
		end = x.starts[ln] - 1
	}
	return start, strings.TrimSuffix(x.text[start:end], "\r")
}
