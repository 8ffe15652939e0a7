"""The merged functional coverage as UCIS XML (Accellera's Unified Coverage Interoperability
Standard), written and read back with pyucis: one covergroup per cover item of
``tb.reports.coverage.ITEMS``, each with one coverpoint whose bins are the item's (a cross's bin named
by its values joined with " x "), with the merged hit counts. Any UCIS reader then computes the same
figure as ``coverage.figure``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def export(hits: dict, path: Path) -> Path:
    """Write ``hits`` ({item: {bin (JSON): count}}, the merged store) to ``path`` as UCIS XML."""
    from ucis import (
        UCIS_DU_MODULE,
        UCIS_ENABLED_STMT,
        UCIS_HISTORYNODE_TEST,
        UCIS_INST_ONCE,
        UCIS_INSTANCE,
        UCIS_OTHER,
        UCIS_SCOPE_UNDER_DU,
        UCIS_TESTSTATUS_OK,
        UCIS_VLOG,
        SourceInfo,
        TestData,
    )
    from ucis.mem.mem_factory import MemFactory
    from ucis.xml.xml_factory import XmlFactory

    from tb.reports.coverage import ITEMS

    db = MemFactory.create()
    node = db.createHistoryNode(None, "regressions", "build/results", UCIS_HISTORYNODE_TEST)
    node.setTestData(TestData(teststatus=UCIS_TESTSTATUS_OK, toolcategory="UCIS:simulator",
                              date=time.strftime("%Y%m%d%H%M%S")))
    src = SourceInfo(db.createFileHandle("tb/reports/coverage.py", os.getcwd()), 0, 0)
    du = db.createScope("tdx_nmi", src, 1, UCIS_OTHER, UCIS_DU_MODULE,
                        UCIS_ENABLED_STMT | UCIS_INST_ONCE | UCIS_SCOPE_UNDER_DU)
    top = db.createInstance("top", None, 1, UCIS_OTHER, UCIS_INSTANCE, du, UCIS_INST_ONCE)
    for item in ITEMS:
        group = top.createCovergroup(item, src, 1, UCIS_OTHER)
        point = group.createCoverpoint(item, src, 1, UCIS_VLOG)
        for key, count in sorted(hits.get(item, {}).items()):
            value = json.loads(key)
            name = " x ".join(map(str, value)) if isinstance(value, list) else str(value)
            point.createBin(name, src, 1, int(count), name)
    path.parent.mkdir(parents=True, exist_ok=True)
    XmlFactory.write(db, str(path))
    return path


def read_back(path: Path) -> dict[str, tuple[int, int]]:
    """{cover item: (bins hit, bins)} as pyucis reads the file (its schema checked first)."""
    from ucis.xml import validate_ucis_xml
    from ucis.xml.xml_factory import XmlFactory

    if not validate_ucis_xml(str(path)):
        raise ValueError(f"{path}: not valid UCIS XML")
    db = XmlFactory.read(str(path))
    out = {}
    for inst in db.scopes(-1):
        for group in inst.scopes(-1):
            hit = total = 0
            for point in group.scopes(-1):
                for index in point.coverItems(-1):
                    total += 1
                    data = index.getCoverData()
                    hit += data.data >= max(data.goal, 1)
            out[group.getScopeName()] = (hit, total)
    return out
