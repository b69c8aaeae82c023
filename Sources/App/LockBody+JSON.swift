import LockCloudAPI

/// The lock object (`#/components/schemas/Lock`) written by `JSONWriter`: the one writer of a
/// lock for the hand-written reads (`GET /locks/{lock_id}`, `GET /locks`). Same fields and
/// formats as `LockBody.encode(to:)`, which the generated routes (pairing, renaming) still use:
/// every field present, `null` when unknown. A unit test checks the two agree.
extension LockBody {
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.member("lock_id", lockId)
            json.member("name", name)
            json.member("model", model)
            json.member("address", address)
            json.member("device_type", deviceType)
            json.member("online", online)
            json.member("battery_level", batteryLevel)
            json.member("signal_quality", signalQuality)
            json.key("location")
            if let location {
                json.object { json in
                    json.key("latitude")
                    json.double(location.latitude)
                    json.key("longitude")
                    json.double(location.longitude)
                }
            } else {
                json.null()
            }
            json.member("timezone", timezone)
            json.member("bridge_id", bridgeId)
            json.member("lock_state", lockState)
            json.member("door_state", doorState)
            json.member("device_time", deviceTime)
            json.member("created_at", createdAt)
            json.member("updated_at", updatedAt)
            json.key("warnings")
            json.array(warnings) { json, warning in
                json.object { json in
                    json.member("warning_code", warning.warningCode)
                    json.member("message", warning.message)
                }
            }
            json.member("can_remotely_lock", canRemotelyLock)
            json.member("can_remotely_unlock", canRemotelyUnlock)
            json.key("supported_code_lengths")
            json.array(supportedCodeLengths) { json, length in json.integer(length) }
            json.member("max_active_codes_supported", maxActiveCodesSupported)
            json.member("offline_pin_length", offlinePinLength)
            json.key("offline_time_frame_options")
            OfflineTimeFrameOptionBody.write(offlineTimeFrameOptions, to: &json)
            json.member("can_program_online_access_codes", canProgramOnlineAccessCodes)
            json.member("can_program_offline_access_codes", canProgramOfflineAccessCodes)
            json.member("code_length_min", codeLengthMin)
            json.member("code_length_max", codeLengthMax)
            json.member("max_access_codes", maxAccessCodes)
        }
    }
}

extension OfflineTimeFrameOptionBody {
    /// A lock's options array. The shared options of every offline-capable model
    /// (`APIHandler.allOfflineOptionBodies`, the same array storage whenever a lock carries
    /// them) are written once, by this same writer, and copied: they are 40 of a lock's
    /// members, and were about half of the CPU of writing a page of locks.
    static func write(_ options: [OfflineTimeFrameOptionBody], to json: inout JSONWriter) {
        if options.sharesStorage(with: APIHandler.allOfflineOptionBodies) {
            json.fragment(allOptionsJSON)
        } else {
            json.array(options) { json, option in option.write(to: &json) }
        }
    }

    private static let allOptionsJSON: [UInt8] = {
        var json = JSONWriter(capacity: 2048)
        json.array(APIHandler.allOfflineOptionBodies) { json, option in option.write(to: &json) }
        return json.bytes
    }()

    /// The same fields as its `encode(to:)`, nulls included.
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.member("offline_access_code_type", offlineAccessCodeType)
            json.member("display_name", displayName)
            json.member("min_duration", minDuration)
            json.member("max_duration", maxDuration)
            json.member("duration_step", durationStep)
            json.member("max_codes_per_period", maxCodesPerPeriod)
            json.member("period", period)
            json.member("is_one_time_use", isOneTimeUse)
        }
    }
}

extension LockListBody {
    /// `{"locks": [...], "next_page_cursor": ...}`, each lock by `LockBody.write(to:)`.
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("locks")
            json.array(locks) { json, lock in lock.write(to: &json) }
            json.member("next_page_cursor", nextPageCursor)
        }
    }
}

extension Array {
    /// Whether both arrays use the same storage (one was copied from the other and neither
    /// changed since); false for empty arrays, which may share the empty singleton.
    func sharesStorage(with other: [Element]) -> Bool {
        guard !isEmpty, count == other.count else { return false }
        return withUnsafeBufferPointer { mine in other.withUnsafeBufferPointer { $0.baseAddress == mine.baseAddress } }
    }
}
