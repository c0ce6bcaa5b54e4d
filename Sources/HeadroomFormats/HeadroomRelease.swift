/// Facts about this build of Headroom (written into exported models and run records).
public enum HeadroomRelease {
    public static let version = "0.1.0"
}
