package client

import (
	"context"
	"time"
)

// What the external tests need to see.

// SetSleep replaces how c waits between attempts.
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.sleep = f }

// Seg is seg.
var Seg = seg

// Succeeded is succeeded.
func (p *Pacer) Succeeded() { p.succeeded() }
