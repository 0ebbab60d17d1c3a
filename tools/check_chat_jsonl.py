#!/usr/bin/env python3
"""Independent check of an OpenAI chat fine-tuning file (JSONL), standard library only.

Implements the format checks of the OpenAI cookbook "Data preparation and analysis for chat
model fine-tuning", plus the requirements of the fine-tuning API that the cookbook states in
prose:

  invalid_json                       a line is not one JSON value (or not UTF-8)
  data_type                          an example is not a JSON object
  missing_messages_list              an example has no non-empty "messages" list
  message_not_object                 a message is not a JSON object
  message_missing_key                a message lacks "role" or "content"
  message_unrecognized_key           a message has a key outside role, content, name,
                                     function_call, tool_calls, tool_call_id, weight
  unrecognized_role                  a role outside system, user, assistant, function, tool
  missing_content                    content is empty or not a string (unless the message
                                     calls a function or tool)
  invalid_weight                     "weight" is present and not 0 or 1
  example_missing_assistant_message  an example has no assistant message
  example_not_ending_with_assistant  the last message of an example is not the assistant's
  too_few_examples                   fewer than 10 examples (the fine-tuning minimum)

Usage: check_chat_jsonl.py FILE [--min-examples N]
Prints the number of examples, message statistics and every error count; exits 0 when no
error was found, 1 when one was, 2 when the file cannot be read.
"""

import argparse
import collections
import json
import sys

ALLOWED_KEYS = {"role", "content", "name", "function_call", "tool_calls", "tool_call_id",
                "weight"}
ALLOWED_ROLES = {"system", "user", "assistant", "function", "tool"}


def check_example(example, errors):
    """Adds the format errors of one parsed example to `errors`; returns its message count."""
    if not isinstance(example, dict):
        errors["data_type"] += 1
        return 0
    messages = example.get("messages", None)
    if not messages or not isinstance(messages, list):
        errors["missing_messages_list"] += 1
        return 0
    for message in messages:
        if not isinstance(message, dict):
            errors["message_not_object"] += 1
            continue
        if "role" not in message or "content" not in message:
            errors["message_missing_key"] += 1
        if any(key not in ALLOWED_KEYS for key in message):
            errors["message_unrecognized_key"] += 1
        if message.get("role", None) not in ALLOWED_ROLES:
            errors["unrecognized_role"] += 1
        content = message.get("content", None)
        calls = message.get("function_call", None) or message.get("tool_calls", None)
        if (not content and not calls) or (content is not None and not isinstance(content, str)):
            errors["missing_content"] += 1
        if "weight" in message and message["weight"] not in (0, 1):
            errors["invalid_weight"] += 1
    roles = [m.get("role", None) for m in messages if isinstance(m, dict)]
    if "assistant" not in roles:
        errors["example_missing_assistant_message"] += 1
    if not roles or roles[-1] != "assistant":
        errors["example_not_ending_with_assistant"] += 1
    return len(messages)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--min-examples", type=int, default=10)
    args = parser.parse_args(argv)

    errors = collections.Counter()
    message_counts = []
    first_errors = []
    try:
        with open(args.file, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    example = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    errors["invalid_json"] += 1
                    message_counts.append(0)
                    if len(first_errors) < 5:
                        first_errors.append(f"line {number}: not JSON: {e}")
                    continue
                before = collections.Counter(errors)
                message_counts.append(check_example(example, errors))
                new = sorted((errors - before).keys())
                if new and len(first_errors) < 5:
                    first_errors.append(f"line {number}: {', '.join(new)}")
    except OSError as e:
        print(f"cannot read {args.file}: {e}", file=sys.stderr)
        return 2

    examples = len(message_counts)
    if examples < args.min_examples:
        errors["too_few_examples"] += 1
    print(f"examples: {examples}")
    if message_counts:
        print(f"messages per example: min {min(message_counts)}, max {max(message_counts)}, "
              f"mean {sum(message_counts) / len(message_counts):.2f}")
    if not errors:
        print("no errors found")
        return 0
    print("found errors:")
    for name, count in sorted(errors.items()):
        print(f"  {name}: {count}")
    for line in first_errors:
        print(f"  {line}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
