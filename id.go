package sunlamp

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// Id prefixes of API keys.
const (
	PrefixAccountKey     = "act_"
	PrefixAppKey         = "app_"
	PrefixIntegrationKey = "int_"
)

var idGen struct {
	sync.Mutex
	lastMs int64
	seq    uint32
	node   [3]byte
}

func init() {
	_, _ = rand.Read(idGen.node[:])
}

// NewID returns a new id: 24 lowercase hex characters, ordered by creation time like the service's
// ObjectIds. Layout: 6 bytes of Unix milliseconds, a 3-byte sequence (random start each millisecond,
// incremented within it, so ids made by one process are strictly increasing), 3 bytes of process
// identity (so two processes sharing a database do not collide).
func NewID() string {
	return newIDAt(time.Now())
}

func newIDAt(t time.Time) string {
	ms := t.UnixMilli()
	idGen.Lock()
	if ms <= idGen.lastMs {
		ms = idGen.lastMs // the clock went back or stood still: stay monotonic
		idGen.seq++
		if idGen.seq >= 1<<24 {
			ms++
			idGen.seq = 0
		}
	} else {
		var b [4]byte
		_, _ = rand.Read(b[:])
		idGen.seq = binary.BigEndian.Uint32(b[:]) & 0x7fffff // leave headroom for increments
	}
	idGen.lastMs = ms
	seq, node := idGen.seq, idGen.node
	idGen.Unlock()
	var b [12]byte
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6], b[7], b[8] = byte(seq>>16), byte(seq>>8), byte(seq)
	copy(b[9:], node[:])
	return hex.EncodeToString(b[:])
}

// IsID reports whether s has the form of an id: 24 lowercase hex characters.
func IsID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewKeyID returns a new API key id: prefix followed by a new id.
func NewKeyID(prefix string) string { return prefix + NewID() }

// NewSecret returns a new API key secret: 64 random bytes as 86 characters of base64url, the form of
// the service's newest key secrets.
func NewSecret() string {
	var b [64]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("sunlamp: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewWebhookSecret returns a webhook secret: 32 lowercase hex characters, as in the spec's examples.
func NewWebhookSecret() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("sunlamp: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
