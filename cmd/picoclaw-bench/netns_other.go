//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

func inNetns() bool { return false }

func reexecInNetns(context.Context, []string, io.Writer, io.Writer) (int, error) {
	return 0, errors.New("bench: --netns and --compare need Linux namespaces")
}

func setupNetns(string, []string) error { return errors.New("bench: --netns needs Linux") }
