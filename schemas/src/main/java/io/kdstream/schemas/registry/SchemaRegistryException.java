package io.kdstream.schemas.registry;

/**
 * An error the schema registry reported, with its Confluent error code (e.g. 40401 subject not found) and the HTTP
 * status it came with. It is not retriable: repeating the same request gives the same answer.
 */
public class SchemaRegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public static final int UNAUTHORIZED = 40101;
    public static final int FORBIDDEN = 40301;
    public static final int SUBJECT_NOT_FOUND = 40401;
    public static final int VERSION_NOT_FOUND = 40402;
    public static final int SCHEMA_NOT_FOUND = 40403;
    public static final int INCOMPATIBLE_SCHEMA = 409;
    public static final int INVALID_SCHEMA = 42201;
    public static final int INVALID_VERSION = 42202;
    public static final int INVALID_COMPATIBILITY_LEVEL = 42203;
    public static final int STORE_ERROR = 50001;
    /** Not a Confluent code: the TLS handshake failed, so there is no HTTP answer (HTTP status 0). */
    public static final int TLS_FAILURE = -1;

    private final int errorCode;
    private final int httpStatus;

    public SchemaRegistryException(int errorCode, int httpStatus, String message) {
        this(errorCode, httpStatus, message, null);
    }

    public SchemaRegistryException(int errorCode, int httpStatus, String message, Throwable cause) {
        super(message + " (error_code " + errorCode + ", HTTP " + httpStatus + ")", cause);
        this.errorCode = errorCode;
        this.httpStatus = httpStatus;
    }

    /** Confluent error code, e.g. 40401; the HTTP status when the registry sent none. */
    public int errorCode() {
        return errorCode;
    }

    /** The HTTP status of the answer. */
    public int httpStatus() {
        return httpStatus;
    }

    /** Whether the subject, version or schema asked for does not exist. */
    public boolean isNotFound() {
        return errorCode == SUBJECT_NOT_FOUND || errorCode == VERSION_NOT_FOUND || errorCode == SCHEMA_NOT_FOUND
                || (httpStatus == 404 && errorCode / 100 != 404);
    }

    /** Whether the registry refused the credentials (HTTP 401 or 403). */
    public boolean isAuthorizationFailure() {
        return httpStatus == 401 || httpStatus == 403;
    }

    static SchemaRegistryException subjectNotFound(String subject) {
        return new SchemaRegistryException(SUBJECT_NOT_FOUND, 404, "Subject '" + subject + "' not found.");
    }

    static SchemaRegistryException versionNotFound(String subject, int version) {
        return new SchemaRegistryException(VERSION_NOT_FOUND, 404, "Version " + version + " of subject '" + subject
                + "' not found.");
    }

    static SchemaRegistryException schemaNotFound(String what) {
        return new SchemaRegistryException(SCHEMA_NOT_FOUND, 404, "Schema not found: " + what);
    }
}
