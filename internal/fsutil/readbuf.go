package fsutil

import "os"

// ReplayBufferSize is the read buffer for reading f once from its start:
// its size, between 4 KiB and most, so that replaying a small journal at
// start-up does not allocate the buffer a large one wants (with no
// garbage collection yet, everything start-up allocates stays resident).
func ReplayBufferSize(f *os.File, most int) int {
	const least = 4 << 10
	st, err := f.Stat()
	if err != nil {
		return most
	}
	return int(max(least, min(int64(most), st.Size())))
}
