package api

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// This file holds the rich-text conversions that content validation (content.go) applies to a
// message's text fields: markdownText becomes the htmlText that is stored (the spec makes
// markdownText writeOnly), and a text missing next to htmlText is derived from it as plain text for
// channels without rich text. They are kept apart from validation because they transform accepted
// input rather than judge it.

var (
	reTag        = regexp.MustCompile(`(?s)<[^>]*>`)
	reBlockClose = regexp.MustCompile(`(?i)</(p|div|h[1-6]|li|ul|ol|blockquote|pre)>|<br\s*/?>`)
	reMDLink     = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	reMDBold     = regexp.MustCompile(`\*\*([^*]+)\*\*|__([^_]+)__`)
	reMDItalic   = regexp.MustCompile(`\*([^*]+)\*|\b_([^_]+)_\b`)
	reMDCode     = regexp.MustCompile("`([^`]+)`")
	reMDHeading  = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)
	reMDListItem = regexp.MustCompile(`^\s*[-*+]\s+(.*)$`)
	reBlankLines = regexp.MustCompile(`\n{3,}`)
)

// htmlToText turns htmlText into the plain text shown on channels without rich text: tags are
// dropped (block ends become line breaks) and entities decoded.
func htmlToText(s string) string {
	s = reBlockClose.ReplaceAllString(s, "\n")
	s = reTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = reBlankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

// markdownToHTML converts the common subset of Markdown (headings, paragraphs, bullet lists, bold,
// italic, inline code, links) into HTML. Text is escaped first, so no markup of the sender's passes
// through unescaped.
func markdownToHTML(md string) string {
	var b strings.Builder
	inList := false
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + strings.Join(para, "<br>") + "</p>")
			para = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		if m := reMDListItem.FindStringSubmatch(line); m != nil {
			flush()
			if !inList {
				b.WriteString("<ul>")
				inList = true
			}
			b.WriteString("<li>" + inlineMarkdown(m[1]) + "</li>")
			continue
		}
		if inList {
			b.WriteString("</ul>")
			inList = false
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if m := reMDHeading.FindStringSubmatch(line); m != nil {
			flush()
			n := len(m[1])
			fmt.Fprintf(&b, "<h%d>%s</h%d>", n, inlineMarkdown(m[2]), n)
			continue
		}
		para = append(para, inlineMarkdown(line))
	}
	if inList {
		b.WriteString("</ul>")
	}
	flush()
	return b.String()
}

func inlineMarkdown(s string) string {
	s = html.EscapeString(s)
	s = reMDCode.ReplaceAllString(s, "<code>$1</code>")
	s = reMDLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := reMDLink.FindStringSubmatch(m)
		if !isURI(html.UnescapeString(sub[2])) {
			return m
		}
		return `<a href="` + sub[2] + `">` + sub[1] + `</a>`
	})
	s = reMDBold.ReplaceAllString(s, "<strong>$1$2</strong>")
	s = reMDItalic.ReplaceAllString(s, "<em>$1$2</em>")
	return s
}
