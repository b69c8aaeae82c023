import Crypto
import Foundation

extension OfflinePINScheme {
    /// The registry's check of section 9: would the lock, at any moment of the grant's
    /// activation window, find `pin` as another grant before the grant itself? `keys` are the
    /// versions the lock may search then (the issuing version and the one before it, when the
    /// lock may still be on it). Conservative: every candidate of every hour of the window is
    /// decoded, and any earlier decode whose window meets the grant's counts, spent or not.
    public static func isAmbiguous(
        _ pin: String, for grant: Grant, keys: [(version: UInt16, key: SymmetricKey)], digits: Int,
        masks: MaskSource? = nil
    ) -> Bool {
        let first = grant.startHour * 3600 - driftSeconds
        let last = activationEnd(of: grant) - 1
        let hours = searchedHours(at: first).lowerBound...searchedHours(at: last).upperBound
        let decoded = decode(pin, hours: hours, keys: keys, digits: digits, masks: masks) { other in
            // Windows meet when each starts before the other's activation ends.
            other.startHour * 3600 - driftSeconds <= last && first < activationEnd(of: other)
        }
        return decoded.contains { $0.inWindow && $0.grant != grant && precedes($0.grant, grant) }
    }

    /// The end (exclusive, seconds, tolerance included) of the time a grant can be activated.
    static func activationEnd(of grant: Grant) -> Int64 {
        let activation = grant.startHour + Int64(activationHours)
        let end = grant.durationHours.map { min(activation, grant.startHour + $0) } ?? activation
        return end * 3600 + driftSeconds
    }

    /// The lock's search order: key version, type id, period, slot.
    static func precedes(_ a: Grant, _ b: Grant) -> Bool {
        (a.keyVersion, a.type.rawValue, a.period, a.slot) < (b.keyVersion, b.type.rawValue, b.period, b.slot)
    }
}
