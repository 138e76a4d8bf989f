package dev.segsam.cli.serve;

/** A request the server refuses: the HTTP status and a one-line message for the {@code {"error": ...}} body. */
final class ApiException extends RuntimeException {
    final int status;

    ApiException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }
}
