package dev.segsam.cli.predict;

import dev.segsam.tensor.image.RgbImage;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A 5×7 pixel font for legends, so rendering needs no system fonts (headless servers often have none). Upper-case
 * letters, digits and a few symbols; lower case is drawn as upper case, anything else as a blank.
 */
public final class BitmapFont {
    private BitmapFont() {}

    public static final int W = 5, H = 7;
    private static final Map<Character, int[]> GLYPHS = new HashMap<>();

    static {
        String[] defs = {
            "A 01110 10001 10001 11111 10001 10001 10001", "B 11110 10001 10001 11110 10001 10001 11110",
            "C 01110 10001 10000 10000 10000 10001 01110", "D 11110 10001 10001 10001 10001 10001 11110",
            "E 11111 10000 10000 11110 10000 10000 11111", "F 11111 10000 10000 11110 10000 10000 10000",
            "G 01110 10001 10000 10111 10001 10001 01111", "H 10001 10001 10001 11111 10001 10001 10001",
            "I 01110 00100 00100 00100 00100 00100 01110", "J 00111 00010 00010 00010 00010 10010 01100",
            "K 10001 10010 10100 11000 10100 10010 10001", "L 10000 10000 10000 10000 10000 10000 11111",
            "M 10001 11011 10101 10101 10001 10001 10001", "N 10001 10001 11001 10101 10011 10001 10001",
            "O 01110 10001 10001 10001 10001 10001 01110", "P 11110 10001 10001 11110 10000 10000 10000",
            "Q 01110 10001 10001 10001 10101 10010 01101", "R 11110 10001 10001 11110 10100 10010 10001",
            "S 01111 10000 10000 01110 00001 00001 11110", "T 11111 00100 00100 00100 00100 00100 00100",
            "U 10001 10001 10001 10001 10001 10001 01110", "V 10001 10001 10001 10001 10001 01010 00100",
            "W 10001 10001 10001 10101 10101 10101 01010", "X 10001 10001 01010 00100 01010 10001 10001",
            "Y 10001 10001 01010 00100 00100 00100 00100", "Z 11111 00001 00010 00100 01000 10000 11111",
            "0 01110 10001 10011 10101 11001 10001 01110", "1 00100 01100 00100 00100 00100 00100 01110",
            "2 01110 10001 00001 00010 00100 01000 11111", "3 11111 00010 00100 00010 00001 10001 01110",
            "4 00010 00110 01010 10010 11111 00010 00010", "5 11111 10000 11110 00001 00001 10001 01110",
            "6 00110 01000 10000 11110 10001 10001 01110", "7 11111 00001 00010 00100 01000 01000 01000",
            "8 01110 10001 10001 01110 10001 10001 01110", "9 01110 10001 10001 01111 00001 00010 01100",
            "_ 00000 00000 00000 00000 00000 00000 11111", "- 00000 00000 00000 11111 00000 00000 00000",
            ". 00000 00000 00000 00000 00000 01100 01100", ": 00000 01100 01100 00000 01100 01100 00000",
            "( 00010 00100 01000 01000 01000 00100 00010", ") 01000 00100 00010 00010 00010 00100 01000",
            "% 11000 11001 00010 00100 01000 10011 00011", "/ 00000 00001 00010 00100 01000 10000 00000",
            "> 01000 00100 00010 00001 00010 00100 01000", "= 00000 00000 11111 00000 11111 00000 00000",
            ", 00000 00000 00000 00000 01100 00100 01000",
        };
        for (String d : defs) {
            String[] p = d.split(" ");
            int[] rows = new int[H];
            for (int r = 0; r < H; r++) rows[r] = Integer.parseInt(p[r + 1], 2);
            GLYPHS.put(p[0].charAt(0), rows);
        }
    }

    /** Width in pixels of {@code s} at {@code scale}. */
    public static int width(String s, int scale) {
        return s.length() * (W + 1) * scale;
    }

    /** Draws {@code s} with its top-left corner at (x, y). */
    public static void draw(RgbImage img, String s, int x, int y, int scale, int[] rgb) {
        String u = s.toUpperCase(Locale.ROOT);
        for (int i = 0; i < u.length(); i++) {
            int[] g = GLYPHS.get(u.charAt(i));
            if (g != null) {
                for (int r = 0; r < H; r++) {
                    for (int c = 0; c < W; c++) {
                        if ((g[r] >> (W - 1 - c) & 1) == 0) continue;
                        for (int dy = 0; dy < scale; dy++) {
                            for (int dx = 0; dx < scale; dx++) {
                                int px = x + (i * (W + 1) + c) * scale + dx, py = y + r * scale + dy;
                                if (px >= 0 && py >= 0 && px < img.width() && py < img.height()) {
                                    for (int ch = 0; ch < 3; ch++) img.set(px, py, ch, rgb[ch]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
