"""The official OpenAI client against `deai-compute gateway`.

Run by compute-node/tests/gateway_e2e.rs, which starts a devnet, three
provider daemons and the gateway, then checks what this prints (one JSON
object on stdout) against the reference encoder and the chain.

Environment: DEAI_GATEWAY_URL (http://host:port/v1), DEAI_API_KEY (a funded
key), DEAI_API_KEY_POOR (a key whose account holds nothing), DEAI_API_KEY_CAPPED
(a key with a daily limit below one request), DEAI_MODEL_NAME and DEAI_MODEL_ID,
DEAI_TEXTS (a JSON list: the batch; the first is also sent alone).
"""

import json
import os
import sys

import openai

url = os.environ["DEAI_GATEWAY_URL"]
model_name = os.environ["DEAI_MODEL_NAME"]
model_id = os.environ["DEAI_MODEL_ID"]
texts = json.loads(os.environ["DEAI_TEXTS"])


def client(key):
    # No retries: a retried request whose job was submitted would pay again (the
    # gateway also says x-should-retry: false on errors).
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=600)


rich = client(os.environ["DEAI_API_KEY"])
out = {"openai_version": openai.__version__}

# One text, by the model's name; the client asks for base64 by default.
r = rich.embeddings.create(model=model_name, input=texts[0])
out["single"] = {
    "embeddings": [d.embedding for d in r.data],
    "model": r.model,
    "usage": r.usage.model_dump(),
    "deai": (r.model_extra or {})["deai"],
}

# The batch, by the model's id, as JSON floats.
r = rich.embeddings.create(model=model_id, input=texts, encoding_format="float")
out["batch"] = {
    "embeddings": [d.embedding for d in r.data],
    "indices": [d.index for d in r.data],
    "deai": (r.model_extra or {})["deai"],
}

out["models"] = [m.id for m in rich.models.list().data]


def error(call):
    try:
        call()
    except openai.APIStatusError as e:
        return {"status": e.status_code, "body": e.response.json()}
    return {"status": 200, "body": None}


out["errors"] = {
    "bad_model": error(lambda: rich.embeddings.create(model="no-such-model", input="hi")),
    "empty_input": error(lambda: rich.embeddings.create(model=model_name, input="")),
    "empty_list": error(lambda: rich.embeddings.create(model=model_name, input=[])),
    "too_long": error(lambda: rich.embeddings.create(model=model_name, input="word " * 20000)),
    "dimensions": error(
        lambda: rich.embeddings.create(model=model_name, input="hi", dimensions=64)
    ),
    "no_funds": error(
        lambda: client(os.environ["DEAI_API_KEY_POOR"]).embeddings.create(
            model=model_name, input="hi"
        )
    ),
    "over_daily_limit": error(
        lambda: client(os.environ["DEAI_API_KEY_CAPPED"]).embeddings.create(
            model=model_name, input="hi"
        )
    ),
    "bad_key": error(
        lambda: client("x" * 40).embeddings.create(model=model_name, input="hi")
    ),
}

json.dump(out, sys.stdout)
