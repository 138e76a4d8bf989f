package dev.segsam.io;

import java.nio.file.Path;

/**
 * Untrusted text (file names, strings read from files) made safe to print in a one-line message: line breaks, tabs,
 * other control characters (C0, DEL, C1) and the bidirectional-override characters become visible escapes such as
 * {@code \n}, {@code \x1b} or {@code \u202e}. Everything else, non-ASCII letters and backslashes included, is kept,
 * so escaping twice changes nothing.
 */
public final class Printable {
    private Printable() {}

    /** {@code s} with control characters escaped; {@code "null"} for null. */
    public static String of(String s) {
        if (s == null) return "null";
        if (plain(s)) return s;
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) sb.append(String.format("\\x%02x", (int) c));
                    else if (bidi(c)) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.toString();
    }

    /** A path for a message: {@link #of} of its string form. */
    public static String of(Path p) {
        return p == null ? "null" : of(p.toString());
    }

    private static boolean plain(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || bidi(c)) return false;
        }
        return true;
    }

    /** Unicode's explicit directional formatting characters, which can make a name display as another. */
    private static boolean bidi(char c) {
        return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0x061c;
    }
}
