package migrations

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Lines is the position index of one text: where each of its lines starts. Every message
// that points into a migration file (the reader's refusals, lint findings, allow directives,
// Postgres errors at apply) takes its 1-based line and column (in characters) from here.
type Lines struct {
	text   string
	starts []int // byte offset of each line's start; starts[0] is 0
}

func newLines(text string) *Lines {
	starts := make([]int, 1, strings.Count(text, "\n")+1)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &Lines{text: text, starts: starts}
}

// Pos gives the line and column of a byte offset; offsets outside the text are clamped.
func (x *Lines) Pos(offset int) (line, col int) {
	offset = max(0, min(offset, len(x.text)))
	line = x.Line(offset)
	return line, utf8.RuneCountInString(x.text[x.starts[line-1]:offset]) + 1
}

// Line is the 1-based line holding byte offset off.
func (x *Lines) Line(offset int) int {
	offset = max(0, min(offset, len(x.text)))
	return sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > offset })
}

// Count is the number of lines; a text ending in a line break has an empty last line.
func (x *Lines) Count() int { return len(x.starts) }

// Start is the byte offset where line ln (1-based) starts.
func (x *Lines) Start(ln int) int { return x.starts[ln-1] }

// Text is line ln (1-based) without its line break, "\r\n" included.
func (x *Lines) Text(ln int) string {
	end := len(x.text)
	if ln < len(x.starts) {
		end = x.starts[ln] - 1
	}
	return strings.TrimSuffix(x.text[x.starts[ln-1]:end], "\r")
}

// Lines is the position index of f.Content. Read builds it while splitting the file, so it
// costs nothing more; a File made by hand gets it on first use.
func (f *File) Lines() *Lines {
	if x := f.lines.Load(); x != nil && x.text == f.Content {
		return x
	}
	x := newLines(f.Content)
	f.lines.Store(x)
	return x
}

// Pos gives the 1-based line and column (in characters) of a byte offset of f.Content, for
// messages that point into the file.
func (f *File) Pos(offset int) (line, col int) {
	return f.Lines().Pos(offset)
}
