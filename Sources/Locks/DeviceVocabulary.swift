/// The lock's own words mapped into the API's, which are Seam's (the newer manufacturer guide),
/// so Seam stores what we send without a translation table of its own.
public enum DeviceVocabulary {
    /// `performed_via` as the API shows it: the guide's values, plus `auto_lock` (the lock
    /// relocked itself after its timeout), which the guide has no word for.
    public static let performedVia: [String] = [
        "pin_code", "mobile_app", "remote_api", "bluetooth_key", "fob_card", "manual_turn", "auto_lock",
    ]

    /// The gateway's first spellings, still accepted from locks whose firmware sends them.
    static let earlierPerformedVia = [
        "keypad": "pin_code", "cloud": "remote_api", "bluetooth": "bluetooth_key", "manual": "manual_turn",
    ]

    /// What a lock may send as `performed_via`: either spelling.
    public static let acceptedPerformedVia = Set(performedVia).union(earlierPerformedVia.keys)

    /// The API's value for a lock's `performed_via`, nil when the lock sent something else.
    public static func performedVia(reported: String) -> String? {
        if performedVia.contains(reported) { return reported }
        return earlierPerformedVia[reported]
    }

    /// Why a lock or unlock failed, as `error_code` and `message`.
    public struct ActionFailure: Sendable, Equatable {
        public let errorCode: String
        public let message: String
    }

    /// Maps the reason a lock gave for not moving its bolt. Locks name the same fault in several
    /// ways (a jammed motor, an obstructed bolt); Seam's users need to know what to do about it,
    /// so reasons are grouped by remedy, and the lock's own word is kept in the message.
    public static func actionFailure(lockReason: String?) -> ActionFailure {
        guard let reason = lockReason else {
            return ActionFailure(errorCode: "DEVICE_ERROR", message: "The lock reported a failure without a reason.")
        }
        switch reason {
        case "LOCK_JAMMED", "BOLT_OBSTRUCTED", "BOLT_JAMMED", "MOTOR_STALLED", "MOTOR_JAMMED":
            return ActionFailure(
                errorCode: "LOCK_JAMMED",
                message: "The bolt could not move (the lock reported \(reason)): check the door and frame for an obstruction.")
        case "DOOR_OPEN", "DOOR_AJAR":
            return ActionFailure(
                errorCode: "DOOR_OPEN", message: "The door is not closed, so the lock did not move its bolt (\(reason)).")
        case "BATTERY_TOO_LOW", "LOW_BATTERY", "BATTERY_CRITICAL":
            return ActionFailure(
                errorCode: "BATTERY_TOO_LOW",
                message: "The battery is too low to drive the motor (\(reason)): replace the batteries.")
        case "DEVICE_TIMEOUT":
            return ActionFailure(errorCode: "DEVICE_TIMEOUT", message: "The lock did not confirm the action in time.")
        default:
            return ActionFailure(errorCode: "DEVICE_ERROR", message: "The lock reported an error: \(reason).")
        }
    }
}
