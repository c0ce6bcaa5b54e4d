/// Facts about this build of Headroom.
public enum HeadroomRelease {
    public static let version = "0.1.0"
}
