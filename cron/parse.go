package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const atFormat = `an RFC3339 time with its offset such as "2026-12-01T09:00:00+08:00", or a delay such as "in 10 minutes" or "1h30m"`

// ParseAt reads a one-shot time: RFC3339 (the offset is required, since
// the server's zone is rarely the user's), or a delay from now such as
// "in 10 minutes", "2 hours", "1h30m".
func ParseAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("at: empty; expected %s", atFormat)
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := parseDuration(strings.TrimPrefix(strings.ToLower(s), "in ")); err == nil {
		return now.Add(d).Round(0), nil
	}
	return time.Time{}, fmt.Errorf("at: %q; expected %s", s, atFormat)
}

// ParseEvery reads an interval such as "10m", "every 10 minutes", "2 hours"
// or "hour" and returns it in whole seconds.
func ParseEvery(s string) (int64, error) {
	t := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "every ")
	d, err := parseDuration(t)
	if err != nil {
		return 0, fmt.Errorf(`every: %q; expected an interval such as "10m", "every 2 hours" or "90s"`, s)
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("every: %q is not a whole number of seconds", s)
	}
	return int64(d / time.Second), nil
}

// unitOf returns the length of a unit word: "min", "minutes", "h", ….
func unitOf(word string) (time.Duration, bool) {
	if word == "ms" {
		return 0, false // not a plural of "m"
	}
	if len(word) > 1 {
		word = strings.TrimSuffix(word, "s")
	}
	switch word {
	case "s", "sec", "second":
		return time.Second, true
	case "m", "min", "minute":
		return time.Minute, true
	case "h", "hr", "hour":
		return time.Hour, true
	case "d", "day":
		return 24 * time.Hour, true
	case "w", "week":
		return 7 * 24 * time.Hour, true
	}
	return 0, false
}

// parseDuration reads a positive delay: Go syntax ("1h30m"), or number and
// unit pairs ("2 hours 30 minutes", "1 day and 2h"); a bare unit counts
// one ("hour").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return 0, errors.New("not positive")
		}
		return d, nil
	}
	words := strings.Fields(strings.NewReplacer(",", " ", " and ", " ").Replace(s))
	var total time.Duration
	for i := 0; i < len(words); i++ {
		n, w := 1.0, words[i]
		if v, err := strconv.ParseFloat(w, 64); err == nil {
			if i+1 == len(words) {
				return 0, errors.New("number without unit")
			}
			n, w = v, words[i+1]
			i++
		} else if num, unit, ok := splitNumberUnit(w); ok {
			n, w = num, unit
		}
		u, ok := unitOf(w)
		if !ok || n <= 0 {
			return 0, fmt.Errorf("unknown unit %q", w)
		}
		total += time.Duration(n * float64(u))
	}
	if total <= 0 {
		return 0, errors.New("not positive")
	}
	return total, nil
}

// splitNumberUnit splits "10min" into 10 and "min".
func splitNumberUnit(w string) (float64, string, bool) {
	i := strings.IndexFunc(w, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, "", false
	}
	n, err := strconv.ParseFloat(w[:i], 64)
	return n, w[i:], err == nil
}
