def _todo(*a, **k):
    raise NotImplementedError


scenarios = compare = scenario = run = progress = affected = export = brief = adopt = _todo
