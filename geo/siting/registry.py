"""The siting models yizhan knows, by the name users write.

Adding a model touches one new module (which builds a
:class:`~yizhan.geo.siting.problem.SitingModel` named ``MODEL``) and one line here.
"""

from __future__ import annotations

from yizhan.geo.siting import backup, lscp, mclp, pcenter, pmedian
from yizhan.geo.siting.problem import SitingModel

from yizhan.errors import ConfigError

#: Every model by key, in the order help texts list them.
MODELS: dict[str, SitingModel] = {m.key: m for m in (
    mclp.MODEL,
    lscp.MODEL,
    pmedian.MODEL,
    backup.MODEL,
    pcenter.MODEL,
)}


def get_model(key: str) -> SitingModel:
    """Return the model called ``key`` (case-insensitive).

    Raises
    ------
    ConfigError
        Naming the models there are.
    """
    model = MODELS.get(str(key).lower())
    if model is None:
        names = ", ".join(MODELS)
        raise ConfigError(f"未知选址模型 {key!r}，可选：{names}。Unknown siting model {key!r}; use one of: {names}.")
    return model
