package session

import (
	"container/list"
	"os"
	"sync"

	"picoclaw"
)

// maxOpenFiles bounds the session files kept open between appends: one
// descriptor per recently active chat. A busy gateway answers a few hundred
// chats in turn; past that the least recently appended one is closed.
const maxOpenFiles = 256

// openFiles keeps the session files appended to lately open, so that an
// append costs no open (with O_CREAT, the dearest syscall of an append
// after the fdatasync) and no close. A file is taken out while one append
// uses it, so nothing closes it meanwhile, and put back afterwards. The
// Store uses a kept file again only while its path still names it
// (os.SameFile), so a history renamed, replaced or deleted by anyone,
// this process or another, is opened afresh.
type openFiles struct {
	mu  sync.Mutex
	max int
	m   map[picoclaw.SessionKey]*list.Element // of *openFile
	lru list.List                             // front: most recently put
}

type openFile struct {
	key picoclaw.SessionKey
	f   *os.File
}

func newOpenFiles(max int) *openFiles {
	return &openFiles{max: max, m: make(map[picoclaw.SessionKey]*list.Element)}
}

// take removes key's file from the set and returns it (nil if none). The
// caller owns it: it puts it back or closes it.
func (o *openFiles) take(key picoclaw.SessionKey) *os.File {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[key]
	if !ok {
		return nil
	}
	delete(o.m, key)
	return o.lru.Remove(e).(*openFile).f
}

// put keeps f open as key's file, closing the least recently used file
// if the set is full (and f itself if key already has one, which the
// per-key lock rules out).
func (o *openFiles) put(key picoclaw.SessionKey, f *os.File) {
	o.mu.Lock()
	var evicted *os.File
	if _, ok := o.m[key]; ok {
		evicted = f
	} else {
		o.m[key] = o.lru.PushFront(&openFile{key: key, f: f})
		if o.lru.Len() > o.max {
			old := o.lru.Remove(o.lru.Back()).(*openFile)
			delete(o.m, old.key)
			evicted = old.f
		}
	}
	o.mu.Unlock()
	if evicted != nil {
		evicted.Close() // synced by its append: nothing left to lose
	}
}

// closeAll closes every kept file.
func (o *openFiles) closeAll() error {
	o.mu.Lock()
	var files []*os.File
	for e := o.lru.Front(); e != nil; e = e.Next() {
		files = append(files, e.Value.(*openFile).f)
	}
	o.lru.Init()
	clear(o.m)
	o.mu.Unlock()
	var first error
	for _, f := range files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
