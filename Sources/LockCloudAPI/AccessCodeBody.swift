package import Foundation

/// `#/components/schemas/AccessCode`, hand-written so that nullable fields are sent as `null`.
package struct AccessCodeBody: Codable, Hashable, Sendable {
    package struct Issue: Codable, Hashable, Sendable {
        package var code: String
        package var message: String
        package init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    package var accessCodeId: String
    package var lockId: String
    package var ownerId: String
    package var name: String?
    package var code: String
    package var type: String
    package var startsAt: Date?
    package var endsAt: Date?
    package var status: String
    package var isOfflineAccessCode = false
    package var offlineAccessCodeType: String? = nil
    package var isOneTimeUse = false
    package var createdAt: Date
    package var updatedAt: Date
    package var errors: [Issue]
    package var warnings: [Issue]

    package init(
        accessCodeId: String, lockId: String, ownerId: String, name: String?, code: String, type: String, startsAt: Date?,
        endsAt: Date?, status: String, createdAt: Date, updatedAt: Date, errors: [Issue], warnings: [Issue],
        isOfflineAccessCode: Bool = false, offlineAccessCodeType: String? = nil, isOneTimeUse: Bool = false
    ) {
        self.isOfflineAccessCode = isOfflineAccessCode
        self.offlineAccessCodeType = offlineAccessCodeType
        self.isOneTimeUse = isOneTimeUse
        self.accessCodeId = accessCodeId
        self.lockId = lockId
        self.ownerId = ownerId
        self.name = name
        self.code = code
        self.type = type
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.errors = errors
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case accessCodeId = "access_code_id", lockId = "lock_id", ownerId = "owner_id", name, code, type
        case startsAt = "starts_at", endsAt = "ends_at", status, isOfflineAccessCode = "is_offline_access_code"
        case offlineAccessCodeType = "offline_access_code_type", isOneTimeUse = "is_one_time_use"
        case createdAt = "created_at", updatedAt = "updated_at", errors, warnings
    }

    private enum IssueKeys: String, CodingKey { case errorCode = "error_code", warningCode = "warning_code", message }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            accessCodeId: try container.decode(String.self, forKey: .accessCodeId),
            lockId: try container.decode(String.self, forKey: .lockId),
            ownerId: try container.decode(String.self, forKey: .ownerId),
            name: try container.decodeIfPresent(String.self, forKey: .name),
            code: try container.decode(String.self, forKey: .code), type: try container.decode(String.self, forKey: .type),
            startsAt: try container.decodeIfPresent(Date.self, forKey: .startsAt),
            endsAt: try container.decodeIfPresent(Date.self, forKey: .endsAt),
            status: try container.decode(String.self, forKey: .status),
            createdAt: try container.decode(Date.self, forKey: .createdAt),
            updatedAt: try container.decode(Date.self, forKey: .updatedAt), errors: [], warnings: [])
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accessCodeId, forKey: .accessCodeId)
        try container.encode(lockId, forKey: .lockId)
        try container.encode(ownerId, forKey: .ownerId)
        try container.encode(name, forKey: .name)
        try container.encode(code, forKey: .code)
        try container.encode(type, forKey: .type)
        try container.encode(startsAt, forKey: .startsAt)
        try container.encode(endsAt, forKey: .endsAt)
        try container.encode(status, forKey: .status)
        try container.encode(isOfflineAccessCode, forKey: .isOfflineAccessCode)
        try container.encode(offlineAccessCodeType, forKey: .offlineAccessCodeType)
        try container.encode(isOneTimeUse, forKey: .isOneTimeUse)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        var errorList = container.nestedUnkeyedContainer(forKey: .errors)
        for issue in errors {
            var item = errorList.nestedContainer(keyedBy: IssueKeys.self)
            try item.encode(issue.code, forKey: .errorCode)
            try item.encode(issue.message, forKey: .message)
        }
        var warningList = container.nestedUnkeyedContainer(forKey: .warnings)
        for issue in warnings {
            var item = warningList.nestedContainer(keyedBy: IssueKeys.self)
            try item.encode(issue.code, forKey: .warningCode)
            try item.encode(issue.message, forKey: .message)
        }
    }
}

/// `#/components/schemas/AccessCodeList`: `next_page_cursor` is always present.
package struct AccessCodeListBody: Codable, Hashable, Sendable {
    package var accessCodes: [AccessCodeBody]
    package var nextPageCursor: String?

    package init(accessCodes: [AccessCodeBody], nextPageCursor: String?) {
        self.accessCodes = accessCodes
        self.nextPageCursor = nextPageCursor
    }

    enum CodingKeys: String, CodingKey {
        case accessCodes = "access_codes", nextPageCursor = "next_page_cursor"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accessCodes, forKey: .accessCodes)
        try container.encode(nextPageCursor, forKey: .nextPageCursor)
    }
}
