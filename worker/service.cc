#include "service.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include "key_codec.h"
#include "request.h"

namespace kv {
namespace {

void AppendJsonString(std::string_view text, std::string* out) {
  out->append(boost::json::serialize(
      boost::json::string_view(text.data(), text.size())));
}

Response ErrorResponse(const Status& status) {
  std::string body = "{\"error\":{\"code\":\"";
  body.append(status.error_code());
  body.append("\",\"message\":");
  AppendJsonString(status.message(), &body);
  body.append("}}");
  return {status.http_status(), std::move(body)};
}

void AppendVersion(Version version, std::string* out) {
  out->push_back('"');
  out->append(FormatVersion(version));
  out->push_back('"');
}

Status Get(Store* store, std::string_view body, std::string* out) {
  ReadRequest request;
  KV_RETURN_IF_ERROR(DecodeGet(body, &request));
  out->append("{\"entries\":[");
  size_t index = 0;
  Status key_status;
  KV_RETURN_IF_ERROR(store->Read(request, [&](const EntryView& entry) {
    if (index > 0) out->push_back(',');
    out->append("{\"key\":");
    // The key is written from its encoding, so it comes back canonical.
    key_status = AppendKeyJson(request.keys[index++], out);
    if (entry.found) {
      out->append(",\"value\":");
      out->append(entry.value);
      out->append(",\"version\":");
      AppendVersion(entry.version, out);
      out->push_back('}');
    } else {
      out->append(",\"value\":null,\"version\":null}");
    }
  }));
  KV_RETURN_IF_ERROR(key_status);
  out->append("]}");
  return Status::OK();
}

Status Commit(Store* store, const CommitRequest& request, bool report_deleted,
              std::string* out) {
  CommitResult result;
  KV_RETURN_IF_ERROR(store->Commit(request, &result));
  if (!result.ok) {
    out->append("{\"ok\":false,\"failedChecks\":[");
    for (size_t i = 0; i < result.failed_checks.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(std::to_string(result.failed_checks[i]));
    }
    out->append("]}");
    return Status::OK();
  }
  out->append("{\"ok\":true,");
  if (report_deleted) {
    out->append(result.entries_deleted > 0 ? "\"deleted\":true,"
                                           : "\"deleted\":false,");
  }
  out->append("\"version\":");
  AppendVersion(result.version, out);
  out->push_back('}');
  return Status::OK();
}

using CommitDecoder = Status (*)(std::string_view, CommitRequest*);

Status DecodeAndCommit(Store* store, CommitDecoder decode,
                       std::string_view body, bool report_deleted,
                       std::string* out) {
  CommitRequest request;
  KV_RETURN_IF_ERROR(decode(body, &request));
  return Commit(store, request, report_deleted, out);
}

Status SetCredential(Store* store, std::string_view body, std::string* out) {
  CredentialRequest request;
  KV_RETURN_IF_ERROR(DecodeSetCredential(body, &request));
  KV_RETURN_IF_ERROR(store->SetCredential(request.credential));
  out->append("{\"ok\":true}");
  return Status::OK();
}

Status Dispatch(Store* store, std::string_view operation,
                std::string_view credential, std::string_view body,
                std::string* out) {
  if (operation == "set_credential") return SetCredential(store, body, out);
  KV_RETURN_IF_ERROR(store->Authenticate(credential));
  if (operation == "get") return Get(store, body, out);
  if (operation == "set") {
    return DecodeAndCommit(store, DecodeSet, body, false, out);
  }
  if (operation == "delete") {
    return DecodeAndCommit(store, DecodeDelete, body, true, out);
  }
  if (operation == "atomic") {
    return DecodeAndCommit(store, DecodeAtomic, body, false, out);
  }
  return Status::Error(Code::kNotFound,
                       "no operation \"" + std::string(operation) + "\"");
}

}  // namespace

Response Handle(Store* store, std::string_view operation,
                std::string_view credential, std::string_view body) {
  Response response{200, {}};
  const Status status =
      Dispatch(store, operation, credential, body, &response.body);
  if (!status.ok()) return ErrorResponse(status);
  return response;
}

}  // namespace kv
