package io.kdstream.ops.ingest.npy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A parser for the Python literals of a header: dict, tuple, list, string, int, True, False, None. */
final class HeaderParser {
    /** A Python tuple. */
    record Tuple(List<Object> items) {
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < items.size(); i++) {
                b.append(i == 0 ? "" : ", ").append(items.get(i));
            }
            return b.append(items.size() == 1 ? ",)" : ")").toString();
        }
    }

    private final String s;
    private final Path file;
    private int pos;

    private HeaderParser(String s, Path file) {
        this.s = s;
        this.file = file;
    }

    static Map<String, Object> parseDict(String s, Path file) {
        HeaderParser p = new HeaderParser(s, file);
        Object value = p.value();
        p.skipSpace();
        if (p.pos != s.length() || !(value instanceof Map<?, ?>)) {
            throw p.error("expected one dict literal");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) value;
        return map;
    }

    private Object value() {
        skipSpace();
        if (pos >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> dict();
            case '(' -> new Tuple(sequence('(', ')'));
            case '[' -> sequence('[', ']');
            case '\'', '"' -> string();
            default -> word();
        };
    }

    private Map<String, Object> dict() {
        Map<String, Object> map = new LinkedHashMap<>();
        pos++;
        while (true) {
            skipSpace();
            if (peek('}')) {
                pos++;
                return map;
            }
            Object key = value();
            if (!(key instanceof String k)) {
                throw error("dict keys must be strings");
            }
            skipSpace();
            expect(':');
            map.put(k, value());
            skipSpace();
            if (peek(',')) {
                pos++;
            } else if (!peek('}')) {
                throw error("expected ',' or '}'");
            }
        }
    }

    private List<Object> sequence(char open, char close) {
        List<Object> items = new ArrayList<>();
        pos++;
        while (true) {
            skipSpace();
            if (peek(close)) {
                pos++;
                return items;
            }
            items.add(value());
            skipSpace();
            if (peek(',')) {
                pos++;
            } else if (!peek(close)) {
                throw error("expected ',' or '" + close + "'");
            }
        }
    }

    private String string() {
        char quote = s.charAt(pos++);
        int end = s.indexOf(quote, pos);
        if (end < 0) {
            throw error("unterminated string");
        }
        String value = s.substring(pos, end);
        pos = end + 1;
        return value;
    }

    private Object word() {
        int start = pos;
        while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '-'
                || s.charAt(pos) == '_')) {
            pos++;
        }
        String w = s.substring(start, pos);
        switch (w) {
            case "True":
                return Boolean.TRUE;
            case "False":
                return Boolean.FALSE;
            case "None":
                return "None";
            default:
                break;
        }
        String digits = w.endsWith("L") ? w.substring(0, w.length() - 1) : w; // Python 2 longs
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw error("unexpected '" + w + "'");
        }
    }

    private boolean peek(char c) {
        return pos < s.length() && s.charAt(pos) == c;
    }

    private void expect(char c) {
        if (!peek(c)) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private void skipSpace() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
    }

    private NpyFormatException error(String what) {
        return new NpyFormatException(file + ": cannot parse the .npy header at character " + pos + " (" + what
                + "): " + s);
    }
}
