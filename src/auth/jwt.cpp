// jwt.cpp -- JWT structure and claims, parsed with rapidjson.
#include "auth/jwt.hpp"

#include <rapidjson/document.h>

#include <cmath>
#include <vector>

#include "protocol/names.hpp"

namespace tg::auth {

namespace {

constexpr size_t kMaxSubBytes = 256;

#define TG_LABEL(e, label) label,
constexpr const char* kTokenErrorLabels[] = {TG_TOKEN_ERRORS(TG_LABEL)};
#undef TG_LABEL

// Parses `json` into `doc` when it is a JSON object within the depth limit.
bool parse_object(std::string_view json, rapidjson::Document& doc) {
  if (!json_depth_within(json, kMaxJsonDepth)) return false;
  // Iterative: no recursion whatever the input (the depth is bounded above anyway).
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  return !doc.HasParseError() && doc.IsObject();
}

// A time claim: absent, or a finite number.
bool read_time(const rapidjson::Value& obj, const char* key, std::optional<double>& out) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return true;
  if (!it->value.IsNumber()) return false;
  double v = it->value.GetDouble();
  if (!std::isfinite(v)) return false;
  out = v;
  return true;
}

// An array of room patterns into `out`.
bool read_patterns(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (!v.IsArray()) return false;
  for (const auto& p : v.GetArray()) {
    if (!p.IsString()) return false;
    std::string_view s(p.GetString(), p.GetStringLength());
    if (!valid_pattern(s)) return false;
    out.emplace_back(s);
  }
  return true;
}

bool read_rooms(const rapidjson::Value& obj, Permissions& out) {
  auto it = obj.FindMember("rooms");
  if (it == obj.MemberEnd()) return true;  // every room
  const rapidjson::Value& v = it->value;
  std::vector<std::string> read, publish;
  if (v.IsArray()) {
    if (!read_patterns(v, read)) return false;
    publish = read;
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      std::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (key == "read") {
        if (!read_patterns(m.value, read)) return false;
      } else if (key == "publish") {
        if (!read_patterns(m.value, publish)) return false;
      } else {
        return false;  // a typo must not widen or narrow rights silently
      }
    }
  } else {
    return false;
  }
  out = Permissions(std::move(read), std::move(publish));
  return true;
}

}  // namespace

const char* token_error_label(TokenError e) {
  return kTokenErrorLabels[static_cast<size_t>(e)];
}

std::optional<Alg> alg_from_name(std::string_view name) {
  if (name == "HS256") return Alg::kHS256;
  if (name == "RS256") return Alg::kRS256;
  if (name == "ES256") return Alg::kES256;
  return std::nullopt;
}

std::optional<TokenParts> split_token(std::string_view token) {
  size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (token.find('.', second + 1) != std::string_view::npos) return std::nullopt;  // JWE, or junk
  TokenParts p;
  p.header = token.substr(0, first);
  p.payload = token.substr(first + 1, second - first - 1);
  p.signature = token.substr(second + 1);
  p.signing_input = token.substr(0, second);
  if (p.header.empty() || p.payload.empty()) return std::nullopt;
  return p;
}

bool json_depth_within(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::optional<std::string> parse_header(std::string_view json) {
  rapidjson::Document parsed;
  if (!parse_object(json, parsed)) return std::nullopt;
  const rapidjson::Document& doc = parsed;  // const iterators (clang: C++20 operator==)
  if (doc.HasMember("crit")) return std::nullopt;
  auto alg = doc.FindMember("alg");
  if (alg == doc.MemberEnd() || !alg->value.IsString()) return std::nullopt;
  return std::string(alg->value.GetString(), alg->value.GetStringLength());
}

std::optional<Claims> parse_claims(std::string_view json, std::string& why) {
  rapidjson::Document parsed;
  if (!parse_object(json, parsed)) {
    why = "the claims are not a JSON object";
    return std::nullopt;
  }
  const rapidjson::Document& doc = parsed;
  Claims c;
  auto sub = doc.FindMember("sub");
  if (sub == doc.MemberEnd() || !sub->value.IsString() || sub->value.GetStringLength() == 0 ||
      sub->value.GetStringLength() > kMaxSubBytes) {
    why = "\"sub\" must be a non-empty string";
    return std::nullopt;
  }
  c.sub.assign(sub->value.GetString(), sub->value.GetStringLength());
  auto name = doc.FindMember("name");
  if (name != doc.MemberEnd()) {
    if (!name->value.IsString()) {
      why = "\"name\" must be a string";
      return std::nullopt;
    }
    c.name.assign(name->value.GetString(), name->value.GetStringLength());
    if (!protocol::valid_name(c.name)) {
      why = "\"name\" is not a valid chat name";
      return std::nullopt;
    }
  } else {
    c.name = c.sub;
    if (!protocol::valid_name(c.name)) {
      why = "\"sub\" is not a valid chat name and there is no \"name\"";
      return std::nullopt;
    }
  }
  if (!read_time(doc, "exp", c.exp) || !read_time(doc, "nbf", c.nbf) ||
      !read_time(doc, "iat", c.iat)) {
    why = "\"exp\", \"nbf\" and \"iat\" must be numbers";
    return std::nullopt;
  }
  if (!read_rooms(doc, c.rooms)) {
    why = "\"rooms\" must be an array of room patterns or {\"read\":[...],\"publish\":[...]}";
    return std::nullopt;
  }
  return c;
}

std::optional<TokenError> check_times(const Claims& c, double now_s, double leeway_s) {
  if (c.exp && now_s >= *c.exp + leeway_s) return TokenError::kExpired;
  if (c.nbf && now_s < *c.nbf - leeway_s) return TokenError::kNotYetValid;
  return std::nullopt;
}

}  // namespace tg::auth
